//! Changes whose webhook is lost: the account changes, nothing is delivered. Tests use them
//! to prove what reconciliation repairs, kind by kind.

use rand::rngs::StdRng;
use rand::Rng;

use super::{contacts, live_contact, touch_parts};
use crate::fake_ac::catalog::FIELDS;
use crate::fake_ac::generate::{self, Mix};
use crate::fake_ac::model::FieldValue;
use crate::fake_ac::state::Account;

/// A kind of contact change that reaches no webhook receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostChange {
    /// A tag applied to a contact.
    TagAdded,
    /// A tag taken off a contact.
    TagRemoved,
    /// A custom field value set to a new value.
    FieldValue,
    /// A list membership started or ended.
    ListStatus,
}

/// Makes one change of `kind` at `now` without sending anything; returns the contact's id,
/// or `None` when no contact could take that change.
pub(crate) fn apply(
    acct: &mut Account,
    rng: &mut StdRng,
    now: i64,
    kind: LostChange,
) -> Option<i64> {
    let event = match kind {
        LostChange::TagAdded => contacts::tag(acct, rng, now, true),
        LostChange::TagRemoved => contacts::tag(acct, rng, now, false),
        LostChange::ListStatus => {
            let on = rng.gen_bool(0.5);
            contacts::subscription(acct, rng, now, on)
                .or_else(|| contacts::subscription(acct, rng, now, !on))
        }
        LostChange::FieldValue => return field_value(acct, rng, now),
    };
    event.and_then(|e| e.contact.map(|c| c.id))
}

/// Sets a custom field of a random contact to a value it does not have.
fn field_value(acct: &mut Account, rng: &mut StdRng, now: i64) -> Option<i64> {
    let mut c = live_contact(acct, rng)?;
    let f = &FIELDS[rng.gen_range(0..FIELDS.len())];
    let old = c.fields.get(&f.id).map(|v| v.value.clone());
    let t = touch_parts(&mut c, now, acct.realism.frozen_udate);
    let mut m = Mix::new(rng.gen(), c.id, 10);
    let value = (0..16)
        .map(|_| generate::field_value(f.kind, &mut m, t))
        .find(|v| Some(v) != old.as_ref())
        .unwrap_or_else(|| format!("changed at {t}"));
    let cdate = c.fields.get(&f.id).map_or(t, |v| v.cdate);
    c.fields.insert(
        f.id,
        FieldValue {
            value,
            cdate,
            udate: t,
        },
    );
    let id = c.id;
    acct.put_contact(c);
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ac::config::Realism;
    use crate::fake_ac::generate::DealShape;
    use rand::SeedableRng;

    fn account(frozen_udate: bool) -> Account {
        let shape = DealShape {
            contacts: 40,
            deals: 5,
            restricted: 0,
        };
        Account::new(9, shape, 2_000_000_000).with_realism(Realism {
            frozen_udate,
            ..Realism::default()
        })
    }

    #[test]
    fn with_frozen_udate_only_the_parts_change() {
        for kind in [
            LostChange::TagAdded,
            LostChange::TagRemoved,
            LostChange::FieldValue,
            LostChange::ListStatus,
        ] {
            let mut acct = account(true);
            let mut rng = StdRng::seed_from_u64(1);
            let id = apply(&mut acct, &mut rng, 2_000_000_500, kind).expect("a contact");
            let before = account(true).contact(id).expect("base contact");
            let after = acct.contact(id).expect("changed contact");
            assert_eq!(after.udate, before.udate, "{kind:?}");
            assert_ne!(
                (&after.tags, &after.fields, &after.lists),
                (&before.tags, &before.fields, &before.lists),
                "{kind:?} changed something"
            );
        }
    }

    #[test]
    fn without_frozen_udate_the_contact_udate_moves() {
        let mut acct = account(false);
        let mut rng = StdRng::seed_from_u64(1);
        let id =
            apply(&mut acct, &mut rng, 2_000_000_500, LostChange::TagAdded).expect("a contact");
        assert_eq!(acct.contact(id).expect("contact").udate, 2_000_000_500);
    }
}
