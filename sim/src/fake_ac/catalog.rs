//! The account's fixed dimension tables: tags, lists, custom fields, pipelines, stages and
//! users, plus the word lists that generated records draw from.
//!
//! They are constants rather than generated data because the mirror learns dimensions only by
//! reconciliation; a stable catalog lets a mirror fed by webhooks alone still converge.

/// A tag. Contact tags are applied to contacts; template tags exist only to be filtered out.
pub(crate) struct TagDef {
    pub id: i64,
    pub name: &'static str,
    pub tag_type: &'static str,
    pub cdate: &'static str,
}

/// Tags of the account. One contact tag contains ", " on purpose: webhook `contact[tags]`
/// joins names with ", ", and a mirror must not split that name in two.
pub(crate) const TAGS: &[TagDef] = &[
    tag(1, "customer", "contact"),
    tag(2, "vip", "contact"),
    tag(3, "newsletter", "contact"),
    tag(4, "webinar-2026", "contact"),
    tag(5, "lead", "contact"),
    tag(6, "Sales, EMEA", "contact"),
    tag(7, "[KRC] Registered for Challenge", "contact"),
    tag(8, "churn-risk", "contact"),
    tag(9, "partner", "contact"),
    tag(10, "beta tester", "contact"),
    tag(11, "Welcome template", "template"),
];

const fn tag(id: i64, name: &'static str, tag_type: &'static str) -> TagDef {
    TagDef {
        id,
        name,
        tag_type,
        cdate: "2024-03-11T10:15:02-05:00",
    }
}

/// Ids of the tags that can be applied to contacts.
pub(crate) fn contact_tag_ids() -> impl Iterator<Item = i64> {
    TAGS.iter()
        .filter(|t| t.tag_type == "contact")
        .map(|t| t.id)
}

/// Looks a tag up by id, the extra tags of a heavy account included (no light account's
/// contact carries one).
pub(crate) fn tag_by_id(id: i64) -> Option<&'static TagDef> {
    TAGS.iter().chain(super::heavy::tags()).find(|t| t.id == id)
}

/// The account's tags: the fixed ones, and the extra ones of a heavy account.
pub(crate) fn tags(heavy: bool) -> impl Iterator<Item = &'static TagDef> {
    let extra: &'static [TagDef] = if heavy { super::heavy::tags() } else { &[] };
    TAGS.iter().chain(extra)
}

/// The account's custom fields: the fixed ones, and the extra ones of a heavy account.
pub(crate) fn fields(heavy: bool) -> impl Iterator<Item = &'static FieldDef> {
    let extra: &'static [FieldDef] = if heavy { super::heavy::fields() } else { &[] };
    FIELDS.iter().chain(extra)
}

/// A mailing list.
pub(crate) struct ListDef {
    pub id: i64,
    pub name: &'static str,
    pub stringid: &'static str,
}

/// Lists of the account (ids below 16: list membership ids are `contact * 16 + list`).
pub(crate) const LISTS: &[ListDef] = &[
    ListDef {
        id: 1,
        name: "Master Contact List",
        stringid: "master-contact-list",
    },
    ListDef {
        id: 2,
        name: "Newsletter",
        stringid: "newsletter",
    },
    ListDef {
        id: 3,
        name: "Webinar Attendees",
        stringid: "webinar-attendees",
    },
    ListDef {
        id: 4,
        name: "Customers",
        stringid: "customers",
    },
];

/// How a generated value for a custom field looks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    /// Free text drawn from a word list.
    Text(&'static [&'static str]),
    /// A `YYYY-MM-DD` date.
    Date,
    /// An ISO datetime with the Chicago offset.
    DateTime,
    /// One option.
    Single(&'static [&'static str]),
    /// Several options, written `||A||B||`.
    Multi(&'static [&'static str]),
}

/// A custom contact field.
pub(crate) struct FieldDef {
    pub id: i64,
    pub title: &'static str,
    pub perstag: &'static str,
    pub field_type: &'static str,
    pub kind: FieldKind,
}

const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne & Sons",
    "Soylent",
    "Vandelay Imports",
    "Müller GmbH",
];
const NOTES: &[&str] = &[
    "Met at the trade show",
    "Prefers email",
    "Asked for a demo\nnext quarter",
    "Budget approved",
    "Call back after 3pm",
    "50% discount requested",
];
const SOURCES: &[&str] = &["google", "newsletter", "linkedin", "referral", "direct"];
const LANGUAGES: &[&str] = &["English", "Français", "Deutsch", "Español"];
const INTERESTS: &[&str] = &["Pricing", "Product updates", "Events", "Case studies"];
const CONSENT: &[&str] = &["Yes, I agree to the terms"];

/// Custom fields of the account (ids below 256: field value ids are `contact * 256 + field`).
pub(crate) const FIELDS: &[FieldDef] = &[
    FieldDef {
        id: 1,
        title: "Company",
        perstag: "COMPANY",
        field_type: "text",
        kind: FieldKind::Text(COMPANIES),
    },
    FieldDef {
        id: 2,
        title: "Notes",
        perstag: "NOTES",
        field_type: "textarea",
        kind: FieldKind::Text(NOTES),
    },
    FieldDef {
        id: 3,
        title: "Birthday",
        perstag: "BIRTHDAY",
        field_type: "date",
        kind: FieldKind::Date,
    },
    FieldDef {
        id: 4,
        title: "Preferred Language",
        perstag: "PREFERRED_LANGUAGE",
        field_type: "dropdown",
        kind: FieldKind::Single(LANGUAGES),
    },
    FieldDef {
        id: 5,
        title: "Interests",
        perstag: "INTERESTS",
        field_type: "multiselect",
        kind: FieldKind::Multi(INTERESTS),
    },
    FieldDef {
        id: 6,
        title: "Consent",
        perstag: "CONSENT",
        field_type: "checkbox",
        kind: FieldKind::Multi(CONSENT),
    },
    FieldDef {
        id: 7,
        title: "UTM Source",
        perstag: "UTM_SOURCE",
        field_type: "text",
        kind: FieldKind::Text(SOURCES),
    },
    FieldDef {
        id: 8,
        title: "Last Demo",
        perstag: "LAST_DEMO",
        field_type: "datetime",
        kind: FieldKind::DateTime,
    },
];

/// A pipeline (`dealGroups`).
pub(crate) struct PipelineDef {
    pub id: i64,
    pub title: &'static str,
    pub stages: &'static [(i64, &'static str)],
}

/// Pipelines with their stages. The last pipeline is the one the API user may not see:
/// its deals come back from the API as permission stubs.
pub(crate) const PIPELINES: &[PipelineDef] = &[
    PipelineDef {
        id: 1,
        title: "Sales Pipeline",
        stages: &[
            (1, "To Contact"),
            (2, "In Contact"),
            (3, "Follow Up"),
            (4, "Negotiation"),
        ],
    },
    PipelineDef {
        id: 2,
        title: "Renewals",
        stages: &[(5, "Upcoming"), (6, "Contacted"), (7, "Renewed")],
    },
    PipelineDef {
        id: 3,
        title: "Partner Channel",
        stages: &[(8, "Referred"), (9, "Qualified")],
    },
];

/// The pipeline whose deals are permission stubs in the API.
pub(crate) const RESTRICTED_PIPELINE: i64 = 3;

/// Finds a stage: `(pipeline, stage title)`.
pub(crate) fn stage(id: i64) -> Option<(&'static PipelineDef, &'static str)> {
    PIPELINES.iter().find_map(|p| {
        p.stages
            .iter()
            .find(|(sid, _)| *sid == id)
            .map(|(_, title)| (p, *title))
    })
}

/// Finds a pipeline by id.
pub(crate) fn pipeline(id: i64) -> Option<&'static PipelineDef> {
    PIPELINES.iter().find(|p| p.id == id)
}

/// An account user (deal owner).
pub(crate) struct UserDef {
    pub id: i64,
    pub username: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: &'static str,
}

/// Users of the account; user 1 owns the API token.
pub(crate) const USERS: &[UserDef] = &[
    UserDef {
        id: 1,
        username: "admin",
        first_name: "Alex",
        last_name: "Admin",
        email: "alex@example.com",
    },
    UserDef {
        id: 2,
        username: "sam",
        first_name: "Sam",
        last_name: "Seller",
        email: "sam@example.com",
    },
    UserDef {
        id: 3,
        username: "robin",
        first_name: "Robin",
        last_name: "",
        email: "robin@example.com",
    },
];

/// Finds a user by id.
pub(crate) fn user(id: i64) -> Option<&'static UserDef> {
    USERS.iter().find(|u| u.id == id)
}

/// First names; some with accents so encoders are exercised.
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ana", "Ben", "Chloé", "Dmitri", "Emma", "Farid", "Grace", "Hiro", "Inès", "Jonas", "Kwame",
    "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
];

/// Last names; one with an apostrophe, one with a space.
pub(crate) const LAST_NAMES: &[&str] = &[
    "Andersen",
    "Brown",
    "Castillo",
    "D'Angelo",
    "Eriksen",
    "Fischer",
    "García",
    "Huang",
    "Ivanova",
    "Jones",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
    "van der Berg",
    "Smith",
];

/// Words for deal titles.
pub(crate) const PRODUCTS: &[&str] = &[
    "Starter plan",
    "Pro plan",
    "Enterprise licence",
    "Onboarding package",
    "Support renewal",
    "Training day",
    "Add-on seats",
];

/// A custom field of deals or accounts (`dealCustomFieldMeta`, `accountCustomFieldMeta`).
#[derive(Debug)]
pub(crate) struct CrmFieldDef {
    pub id: i64,
    pub label: &'static str,
    /// `fieldType`.
    pub field_type: &'static str,
    /// The choices of a choice field (`fieldOptions`); empty for other types.
    pub options: &'static [&'static str],
}

/// The deal custom fields; the first is the one every account has.
pub(crate) const DEAL_FIELDS: &[CrmFieldDef] = &[
    CrmFieldDef {
        id: 1,
        label: "Forecasted Close Date",
        field_type: "date",
        options: &[],
    },
    CrmFieldDef {
        id: 2,
        label: "Lead Source",
        field_type: "dropdown",
        options: &["Web", "Referral", "Event", "Partner"],
    },
    CrmFieldDef {
        id: 3,
        label: "Products of interest",
        field_type: "multiselect",
        options: &["Basic", "Pro", "Enterprise"],
    },
    CrmFieldDef {
        id: 4,
        label: "Next steps",
        field_type: "textarea",
        options: &[],
    },
];

/// The account custom fields.
pub(crate) const ACCOUNT_FIELDS: &[CrmFieldDef] = &[
    CrmFieldDef {
        id: 1,
        label: "Industry",
        field_type: "dropdown",
        options: &["Software", "Retail", "Manufacturing", "Education"],
    },
    CrmFieldDef {
        id: 2,
        label: "Employees",
        field_type: "number",
        options: &[],
    },
];

/// Company names of accounts.
pub(crate) const ACCOUNT_NAMES: &[&str] = &[
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Müller & Söhne",
    "Nakatomi",
];

/// Job titles of account contacts.
pub(crate) const JOB_TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "Head of Sales",
    "Marketing Manager",
    "Buyer",
    "Office Manager",
    "",
];
