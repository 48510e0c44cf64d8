//! The diesel table definitions, shared by both backends. Written by hand to match
//! `migrations/sqlite` and `migrations/postgres`, which create the same tables and columns.

diesel::table! {
    /// Key-value settings the daemon keeps for itself (the generated webhook secret).
    acmirror_meta (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    /// Contacts; `updated_at` is the source time of the scalar state held.
    contacts (id) {
        id -> BigInt,
        email -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
        tags_updated_at -> Nullable<Timestamp>,
        email_updated_at -> Nullable<Timestamp>,
        first_name_updated_at -> Nullable<Timestamp>,
        last_name_updated_at -> Nullable<Timestamp>,
        phone_updated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Tag names, with ActiveCampaign's id once known.
    tags (name) {
        name -> Text,
        id -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Contact-tag pairs with a version each; `present = false` is a tombstone.
    contact_tag_states (contact_id, tag) {
        contact_id -> BigInt,
        tag -> Text,
        present -> Bool,
        updated_at -> Timestamp,
        added_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Custom contact field definitions.
    fields (id) {
        id -> BigInt,
        title -> Text,
        perstag -> Nullable<Text>,
        #[sql_name = "type"]
        field_type -> Nullable<Text>,
    }
}

diesel::table! {
    /// Custom field values per contact, versioned.
    contact_field_values (contact_id, field_id) {
        contact_id -> BigInt,
        field_id -> BigInt,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Mailing lists.
    lists (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    /// List memberships, versioned.
    contact_lists (contact_id, list_id) {
        contact_id -> BigInt,
        list_id -> BigInt,
        status -> Integer,
        updated_at -> Timestamp,
        subscribed_at -> Nullable<Timestamp>,
        unsubscribed_at -> Nullable<Timestamp>,
        unsubscribe_reason -> Nullable<Text>,
    }
}

diesel::table! {
    /// Deal pipelines.
    pipelines (id) {
        id -> BigInt,
        title -> Text,
    }
}

diesel::table! {
    /// Deal stages.
    stages (id) {
        id -> BigInt,
        pipeline_id -> Nullable<BigInt>,
        title -> Text,
    }
}

diesel::table! {
    /// Deals; `updated_at` is the source time of the state held.
    deals (id) {
        id -> BigInt,
        title -> Nullable<Text>,
        value_cents -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        pipeline_id -> Nullable<BigInt>,
        stage_id -> Nullable<BigInt>,
        owner_id -> Nullable<BigInt>,
        contact_id -> Nullable<BigInt>,
        status -> Nullable<Integer>,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
        account_id -> Nullable<BigInt>,
        win_probability -> Nullable<Integer>,
        next_task_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Notes on deals.
    deal_notes (id) {
        id -> BigInt,
        deal_id -> BigInt,
        note -> Text,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Tasks on deals.
    deal_tasks (id) {
        id -> BigInt,
        deal_id -> BigInt,
        task_type -> Nullable<Text>,
        title -> Nullable<Text>,
        note -> Nullable<Text>,
        due_at -> Nullable<Timestamp>,
        done_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Notes on contacts: from a delivery (`event_id`), from the API (`ac_id`), or both once
    /// reconciliation has matched them.
    contact_notes (id) {
        id -> BigInt,
        contact_id -> BigInt,
        note -> Text,
        created_at -> Nullable<Timestamp>,
        event_id -> Nullable<BigInt>,
        ac_id -> Nullable<BigInt>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Every webhook delivery, as received.
    webhook_events (id) {
        id -> BigInt,
        body_sha256 -> Text,
        event_type -> Nullable<Text>,
        occurred_at -> Nullable<Timestamp>,
        received_at -> Timestamp,
        last_received_at -> Timestamp,
        initiated_from -> Nullable<Text>,
        contact_id -> Nullable<BigInt>,
        deal_id -> Nullable<BigInt>,
        status -> Text,
        error -> Nullable<Text>,
        deliveries -> Integer,
        applied_at -> Nullable<Timestamp>,
        body -> Binary,
    }
}

diesel::table! {
    /// Reconciliation runs.
    sync_runs (id) {
        id -> BigInt,
        mode -> Text,
        #[sql_name = "trigger"]
        run_trigger -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        status -> Text,
        api_requests -> BigInt,
        records_fetched -> BigInt,
        records_changed -> BigInt,
        records_deleted -> BigInt,
        error -> Nullable<Text>,
        scope -> Text,
        checkpoint -> Text,
        watermark -> Nullable<Timestamp>,
        heartbeat_at -> Nullable<Timestamp>,
        rate_limited -> BigInt,
    }
}

diesel::table! {
    /// Named locks with an expiry (reconciliation exclusivity on SQLite).
    leases (name) {
        name -> Text,
        holder -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// One row per engagement delivery.
    contact_activities (event_id) {
        event_id -> BigInt,
        activity_type -> Text,
        contact_id -> Nullable<BigInt>,
        campaign_id -> Nullable<BigInt>,
        message_id -> Nullable<BigInt>,
        link_url -> Nullable<Text>,
        detail -> Nullable<Text>,
        occurred_at -> Timestamp,
    }
}

diesel::table! {
    /// Options of choice fields.
    field_options (id) {
        id -> BigInt,
        field_id -> BigInt,
        value -> Text,
        label -> Text,
        ordernum -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The account's users (deal owners).
    users (id) {
        id -> BigInt,
        username -> Text,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
    }
}

diesel::table! {
    /// Deal custom field definitions (`dealCustomFieldMeta`).
    deal_fields (id) {
        id -> BigInt,
        label -> Text,
        field_type -> Nullable<Text>,
        /// The choices of a choice field, as a JSON array of strings.
        options -> Nullable<Text>,
        display_order -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Deals' custom field values.
    deal_field_values (deal_id, field_id) {
        deal_id -> BigInt,
        field_id -> BigInt,
        value -> Text,
        updated_at -> Timestamp,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Accounts (organisations).
    accounts (id) {
        id -> BigInt,
        name -> Text,
        url -> Nullable<Text>,
        owner_id -> Nullable<BigInt>,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Contacts of accounts, with their job titles (`accountContacts`).
    account_contacts (id) {
        id -> BigInt,
        account_id -> BigInt,
        contact_id -> BigInt,
        job_title -> Nullable<Text>,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// The account's campaigns.
    campaigns (id) {
        id -> BigInt,
        name -> Text,
        campaign_type -> Nullable<Text>,
        status -> Nullable<Integer>,
        message_id -> Nullable<BigInt>,
        sent_at -> Nullable<Timestamp>,
        last_sent_at -> Nullable<Timestamp>,
        send_amount -> Nullable<BigInt>,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        seen_run -> Nullable<BigInt>,
        synced_at -> Timestamp,
    }
}

diesel::table! {
    /// Account custom field definitions (`accountCustomFieldMeta`).
    account_fields (id) {
        id -> BigInt,
        label -> Text,
        field_type -> Nullable<Text>,
        /// The choices of a choice field, as a JSON array of strings.
        options -> Nullable<Text>,
        display_order -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Accounts' custom field values.
    account_field_values (account_id, field_id) {
        account_id -> BigInt,
        field_id -> BigInt,
        value -> Text,
        updated_at -> Timestamp,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Secondary contacts of deals (`contactDeals`).
    deal_contacts (id) {
        id -> BigInt,
        deal_id -> BigInt,
        contact_id -> BigInt,
        role_id -> Nullable<BigInt>,
        created_at -> Nullable<Timestamp>,
        synced_at -> Timestamp,
        seen_run -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Campaign messages (subject and sender; never the bodies).
    messages (id) {
        id -> BigInt,
        name -> Text,
        subject -> Text,
        from_name -> Text,
        from_email -> Text,
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        seen_run -> Nullable<BigInt>,
        synced_at -> Timestamp,
    }
}

diesel::table! {
    /// Deliveries stored per minute of receipt and event type, counted by each process
    /// (`writer`) as it stores them; the dashboard's 24-hour chart.
    delivery_minutes (minute, event_type, writer) {
        minute -> Timestamp,
        event_type -> Text,
        writer -> BigInt,
        deliveries -> BigInt,
    }
}

diesel::table! {
    /// The apply backlog and lag, sampled once a minute by `serve`.
    apply_samples (at) {
        at -> Timestamp,
        backlog -> BigInt,
        lag_seconds -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    contacts,
    tags,
    contact_tag_states,
    fields,
    contact_field_values,
    lists,
    contact_lists,
    pipelines,
    stages,
    deals,
    deal_notes,
    deal_tasks,
    contact_notes,
    webhook_events,
    sync_runs,
    leases,
    acmirror_meta,
    users,
    field_options,
    contact_activities,
    deal_fields,
    deal_field_values,
    accounts,
    account_contacts,
    account_fields,
    account_field_values,
    deal_contacts,
    campaigns,
    messages,
    delivery_minutes,
    apply_samples,
);
