//! Where a stored delivery stands: `webhook_events.status`.

use diesel::deserialize::FromSqlRow;
use diesel::expression::AsExpression;
use diesel::sql_types::Text;

/// A stored delivery's status, kept as its name in a `TEXT` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum DeliveryStatus {
    /// Stored, waiting for the apply worker.
    Pending,
    /// Applied to the mirror.
    Applied,
    /// Stored without effect on the mirror; the error column says why.
    Ignored,
    /// Could not be applied; the error column says why, and `replay` tries again.
    Failed,
}

impl DeliveryStatus {
    /// Every status, in the order a delivery usually passes through them.
    pub const ALL: [DeliveryStatus; 4] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Applied,
        DeliveryStatus::Ignored,
        DeliveryStatus::Failed,
    ];

    /// The name stored and shown.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Applied => "applied",
            DeliveryStatus::Ignored => "ignored",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

crate::db::text_enum!(DeliveryStatus, "delivery status");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_name() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("running"), None);
    }
}
