//! Direct edits of the simulated account for tests: a change made upstream that sends no
//! webhook (as an import or an edit by another integration may), for reconciliation to find.

use super::model::FieldValue;
use super::FakeAcHandle;

impl FakeAcHandle {
    /// Sets custom field `field_id` of contact `contact_id` to `value` without a webhook; the
    /// contact's `udate` moves. Returns false when the contact does not exist.
    pub fn set_field_value(&self, contact_id: i64, field_id: i64, value: &str) -> bool {
        let now = self.engine.shared.clock.now_secs();
        let mut acct = self.engine.shared.account();
        let Some(mut c) = acct.contact(contact_id) else {
            return false;
        };
        let t = now.max(c.udate + 1);
        c.udate = t;
        let cdate = c.fields.get(&field_id).map_or(t, |v| v.cdate);
        c.fields.insert(
            field_id,
            FieldValue {
                value: value.to_owned(),
                cdate,
                udate: t,
            },
        );
        acct.put_contact(c);
        self.engine.shared.clock.observe(t);
        true
    }
}
