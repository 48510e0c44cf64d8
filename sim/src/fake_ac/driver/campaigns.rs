//! Changes to campaigns and messages, for which ActiveCampaign sends no webhook: edits that
//! move `mdate` (a rename, another send of a recurring campaign, a new subject) and, rarely,
//! a deletion. Only a full reconciliation can see them.

use rand::rngs::StdRng;
use rand::seq::IteratorRandom;
use rand::Rng;

use crate::fake_ac::clock::next_change_time;
use crate::fake_ac::state::Account;

/// One in this many campaign changes is a deletion.
const DELETE_ONE_IN: u32 = 8;

/// What [`crate::fake_ac::FakeAcHandle::churn_campaigns`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CampaignsChurn {
    /// Campaigns whose record changed (`mdate` moved).
    pub campaigns_edited: u64,
    /// Messages whose subject changed (`mdate` moved).
    pub messages_edited: u64,
    /// Campaigns deleted, with their messages.
    pub campaigns_deleted: u64,
}

/// Makes one random change at wall time `now`; false when there is no campaign left.
pub(crate) fn change(
    acct: &mut Account,
    rng: &mut StdRng,
    now: i64,
    done: &mut CampaignsChurn,
) -> bool {
    let Some(id) = acct.campaigns.keys().copied().choose(rng) else {
        return false;
    };
    // A deletion is rare, and the account keeps a sent campaign for engagement events.
    let sent = acct
        .campaigns
        .values()
        .filter(|c| c.sdate.is_some())
        .count();
    let is_sent = acct.campaigns[&id].sdate.is_some();
    if rng.gen_range(0..DELETE_ONE_IN) == 0 && (!is_sent || sent > 1) {
        acct.delete_campaign(id);
        done.campaigns_deleted += 1;
        return true;
    }
    let campaign = acct.campaigns.get_mut(&id).expect("chosen from the keys");
    match (campaign.kind, rng.gen_range(0..3)) {
        ("recurring", 0) if campaign.sdate.is_some() => {
            // Sent again.
            let at = next_change_time(now, campaign.ldate.unwrap_or(campaign.mdate));
            campaign.ldate = Some(at);
            campaign.send_amt += 100 + rng.gen_range(0..400);
        }
        (_, 1) => {
            let message = campaign.message;
            if let Some(m) = acct.messages.get_mut(&message) {
                m.subject = format!("{} (updated)", m.subject.trim_end_matches(" (updated)"));
                m.mdate = next_change_time(now, m.mdate);
                done.messages_edited += 1;
                return true;
            }
        }
        _ => campaign.name = format!("{} (edited)", campaign.name.trim_end_matches(" (edited)")),
    }
    let campaign = acct.campaigns.get_mut(&id).expect("still there");
    campaign.mdate = next_change_time(now, campaign.mdate.max(campaign.ldate.unwrap_or(0)));
    done.campaigns_edited += 1;
    true
}
