//! The event types acmirror knows, parsed once from a delivery's `type` and matched
//! exhaustively where a delivery is applied. The list `register-webhook` subscribes to is
//! derived from here (SPEC §4).

/// An ActiveCampaign webhook event type that acmirror knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A contact subscribed to a list.
    Subscribe,
    /// A contact unsubscribed from one or more lists.
    Unsubscribe,
    /// A contact changed.
    Update,
    /// A tag was added to a contact.
    ContactTagAdded,
    /// A tag was removed from a contact.
    ContactTagRemoved,
    /// A note was added to a contact.
    SubscriberNote,
    /// A deal was created.
    DealAdd,
    /// A deal changed.
    DealUpdate,
    /// A note was added to a deal.
    DealNoteAdd,
    /// A task was added to a deal.
    DealTaskAdd,
    /// A deal's task was completed.
    DealTaskComplete,
    /// A pipeline was created.
    DealPipelineAdd,
    /// A stage was created.
    DealStageAdd,
    /// A list was created.
    ListAdd,
    /// An account was created.
    AccountAdd,
    /// An account changed.
    AccountUpdate,
    /// A contact was added to an account.
    AccountContactAdd,
    /// A contact's place at an account changed.
    AccountContactUpdate,
    /// A campaign bounced for a contact (stored for reporting).
    Bounce,
    /// A contact clicked a link (stored for reporting).
    Click,
    /// A contact opened a message (stored for reporting).
    Open,
    /// A campaign was sent (stored for reporting).
    Sent,
    /// A contact forwarded a message (stored for reporting).
    Forward,
    /// A contact shared a message (stored for reporting).
    Share,
    /// A contact replied (stored for reporting).
    Reply,
    /// A contact replied to an SMS (stored for reporting).
    SmsReply,
    /// An SMS was sent (stored for reporting).
    SmsSent,
    /// A contact unsubscribed from SMS (stored for reporting).
    SmsUnsub,
    /// A deal task type was created (stored for reporting).
    DealTasktypeAdd,
    /// A task was added to a contact (stored for reporting).
    ContactTaskAdd,
}

/// What acmirror does with deliveries of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Changes the mirror: `register-webhook` subscribes to it.
    Mirrored,
    /// Stored for reporting; a contact block in it refreshes the contact.
    Reporting,
}

impl EventKind {
    /// Every kind, mirrored ones first, in the order `register-webhook` lists them.
    pub const ALL: [EventKind; 30] = [
        EventKind::Subscribe,
        EventKind::Unsubscribe,
        EventKind::Update,
        EventKind::ContactTagAdded,
        EventKind::ContactTagRemoved,
        EventKind::SubscriberNote,
        EventKind::DealAdd,
        EventKind::DealUpdate,
        EventKind::DealNoteAdd,
        EventKind::DealTaskAdd,
        EventKind::DealTaskComplete,
        EventKind::DealPipelineAdd,
        EventKind::DealStageAdd,
        EventKind::ListAdd,
        EventKind::AccountAdd,
        EventKind::AccountUpdate,
        EventKind::AccountContactAdd,
        EventKind::AccountContactUpdate,
        EventKind::Bounce,
        EventKind::Click,
        EventKind::Open,
        EventKind::Sent,
        EventKind::Forward,
        EventKind::Share,
        EventKind::Reply,
        EventKind::SmsReply,
        EventKind::SmsSent,
        EventKind::SmsUnsub,
        EventKind::DealTasktypeAdd,
        EventKind::ContactTaskAdd,
    ];

    /// The `type` ActiveCampaign sends.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Subscribe => "subscribe",
            EventKind::Unsubscribe => "unsubscribe",
            EventKind::Update => "update",
            EventKind::ContactTagAdded => "contact_tag_added",
            EventKind::ContactTagRemoved => "contact_tag_removed",
            EventKind::SubscriberNote => "subscriber_note",
            EventKind::DealAdd => "deal_add",
            EventKind::DealUpdate => "deal_update",
            EventKind::DealNoteAdd => "deal_note_add",
            EventKind::DealTaskAdd => "deal_task_add",
            EventKind::DealTaskComplete => "deal_task_complete",
            EventKind::DealPipelineAdd => "deal_pipeline_add",
            EventKind::DealStageAdd => "deal_stage_add",
            EventKind::ListAdd => "list_add",
            EventKind::AccountAdd => "account_add",
            EventKind::AccountUpdate => "account_update",
            EventKind::AccountContactAdd => "account_contact_add",
            EventKind::AccountContactUpdate => "account_contact_update",
            EventKind::Bounce => "bounce",
            EventKind::Click => "click",
            EventKind::Open => "open",
            EventKind::Sent => "sent",
            EventKind::Forward => "forward",
            EventKind::Share => "share",
            EventKind::Reply => "reply",
            EventKind::SmsReply => "sms_reply",
            EventKind::SmsSent => "sms_sent",
            EventKind::SmsUnsub => "sms_unsub",
            EventKind::DealTasktypeAdd => "deal_tasktype_add",
            EventKind::ContactTaskAdd => "contact_task_add",
        }
    }

    /// The kind a `type` names; `None` for types acmirror does not know (stored, ignored).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// What acmirror does with it.
    pub const fn role(self) -> Role {
        match self {
            EventKind::Subscribe
            | EventKind::Unsubscribe
            | EventKind::Update
            | EventKind::ContactTagAdded
            | EventKind::ContactTagRemoved
            | EventKind::SubscriberNote
            | EventKind::DealAdd
            | EventKind::DealUpdate
            | EventKind::DealNoteAdd
            | EventKind::DealTaskAdd
            | EventKind::DealTaskComplete
            | EventKind::DealPipelineAdd
            | EventKind::DealStageAdd
            | EventKind::ListAdd
            | EventKind::AccountAdd
            | EventKind::AccountUpdate
            | EventKind::AccountContactAdd
            | EventKind::AccountContactUpdate => Role::Mirrored,
            EventKind::Bounce
            | EventKind::Click
            | EventKind::Open
            | EventKind::Sent
            | EventKind::Forward
            | EventKind::Share
            | EventKind::Reply
            | EventKind::SmsReply
            | EventKind::SmsSent
            | EventKind::SmsUnsub
            | EventKind::DealTasktypeAdd
            | EventKind::ContactTaskAdd => Role::Reporting,
        }
    }

    /// The names of the kinds that change the mirror: what `register-webhook` subscribes to.
    pub fn mirrored_names() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|k| k.role() == Role::Mirrored)
            .map(Self::name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name_and_names_are_distinct() {
        let mut names = std::collections::HashSet::new();
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.name()), Some(k));
            assert!(names.insert(k.name()), "{} twice", k.name());
        }
        assert_eq!(EventKind::parse("contact_tag_add"), None);
        assert_eq!(EventKind::parse("Update"), None);
    }

    #[test]
    fn register_webhook_subscribes_to_the_mirrored_kinds_in_spec_order() {
        assert_eq!(
            EventKind::mirrored_names(),
            [
                "subscribe",
                "unsubscribe",
                "update",
                "contact_tag_added",
                "contact_tag_removed",
                "subscriber_note",
                "deal_add",
                "deal_update",
                "deal_note_add",
                "deal_task_add",
                "deal_task_complete",
                "deal_pipeline_add",
                "deal_stage_add",
                "list_add",
                "account_add",
                "account_update",
                "account_contact_add",
                "account_contact_update",
            ]
        );
    }
}
