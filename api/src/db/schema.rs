//! Diesel table definitions, the same for SQLite and PostgreSQL (portable types only).
#![allow(missing_docs)]

diesel::table! {
    institutions (id) {
        id -> Text,
        name -> Text,
        credit_code -> Text,
        address -> Text,
        district_code -> Text,
        kind -> Text,
        beds -> Integer,
        residents -> Integer,
        legal_representative -> Text,
        safety_manager -> Text,
        contact_phone -> Text,
        floors -> Integer,
        has_kitchen -> Bool,
        building_area -> Double,
        fire_resistance_grade -> Integer,
        filed -> Bool,
        filed_on -> Nullable<Text>,
        facts -> Text,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    inspectors (id) {
        id -> Text,
        name -> Text,
        department -> Text,
        district_code -> Text,
        certificate_no -> Text,
        previous_employer -> Nullable<Text>,
        relations -> Text,
        available -> Bool,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        role -> Text,
        display_name -> Text,
        region_code -> Nullable<Text>,
        inspector_id -> Nullable<Text>,
        institution_id -> Nullable<Text>,
        disabled -> Bool,
        created_at -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        user_id -> Text,
        family_id -> Text,
        token_hash -> Text,
        expires_at -> Text,
        used_at -> Nullable<Text>,
        revoked -> Bool,
        created_at -> Text,
    }
}

diesel::table! {
    rulesets (hash) {
        hash -> Text,
        name -> Text,
        kind -> Text,
        title -> Text,
        version_label -> Text,
        file_name -> Text,
        source -> Text,
        base_hash -> Nullable<Text>,
        compiled -> Text,
        engine -> Text,
        uploaded_by -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    ruleset_activations (id) {
        id -> Text,
        region_code -> Text,
        name -> Text,
        kind -> Text,
        hash -> Text,
        activated_by -> Nullable<Text>,
        activated_at -> Text,
        retired_at -> Nullable<Text>,
    }
}

diesel::table! {
    plans (id) {
        id -> Text,
        name -> Text,
        year -> Integer,
        round -> Integer,
        region_code -> Text,
        districts -> Text,
        kinds -> Text,
        rulesets -> Text,
        sampling_hash -> Text,
        deadline -> Text,
        status -> Text,
        created_by -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    draws (plan_id) {
        plan_id -> Text,
        seed -> Text,
        input -> Text,
        result -> Text,
        result_hash -> Text,
        drawn_by -> Nullable<Text>,
        drawn_at -> Text,
    }
}

diesel::table! {
    draw_replacements (id) {
        id -> Text,
        plan_id -> Text,
        institution_id -> Text,
        leaving -> Text,
        joining -> Text,
        nth -> Integer,
        reason -> Text,
        replaced_by -> Nullable<Text>,
        replaced_at -> Text,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        plan_id -> Nullable<Text>,
        institution_id -> Text,
        district_code -> Text,
        purpose -> Text,
        rulesets -> Text,
        status -> Text,
        version -> Integer,
        due -> Nullable<Text>,
        started_at -> Nullable<Text>,
        acknowledgement -> Nullable<Text>,
        submitted_at -> Nullable<Text>,
        submitted_by -> Nullable<Text>,
        created_at -> Text,
        updated_at -> Text,
        scope -> Nullable<Text>,
    }
}

diesel::table! {
    inspection_members (inspection_id, inspector_id) {
        inspection_id -> Text,
        inspector_id -> Text,
    }
}

diesel::table! {
    answers (inspection_id, ruleset, item) {
        inspection_id -> Text,
        ruleset -> Text,
        item -> Text,
        value -> Text,
        note -> Nullable<Text>,
        client_uuid -> Text,
        client_time -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        version -> Integer,
        updated_by -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    answer_changes (client_uuid) {
        client_uuid -> Text,
        inspection_id -> Text,
        ruleset -> Text,
        item -> Text,
        old_value -> Nullable<Text>,
        new_value -> Text,
        version -> Integer,
        changed_by -> Text,
        changed_at -> Text,
        client_time -> Nullable<Text>,
    }
}

diesel::table! {
    photos (id) {
        id -> Text,
        inspection_id -> Text,
        ruleset -> Text,
        item -> Text,
        client_uuid -> Text,
        object_key -> Text,
        sha256 -> Text,
        size -> BigInt,
        content_type -> Text,
        width -> Integer,
        height -> Integer,
        thumb_key -> Text,
        taken_at -> Nullable<Text>,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        flags -> Text,
        uploaded_by -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        inspection_id -> Text,
        ruleset -> Text,
        item -> Text,
        client_uuid -> Text,
        size -> BigInt,
        sha256 -> Text,
        received -> BigInt,
        photo_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    upload_chunks (upload_id, start_at) {
        upload_id -> Text,
        start_at -> BigInt,
        size -> BigInt,
        sha256 -> Text,
        data -> Binary,
    }
}

diesel::table! {
    outcomes (id) {
        id -> Text,
        inspection_id -> Text,
        ruleset_hash -> Text,
        ruleset -> Text,
        answers_hash -> Text,
        engine -> Text,
        total -> Nullable<Text>,
        grade -> Nullable<Text>,
        report -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    hazards (id) {
        id -> Text,
        inspection_id -> Text,
        institution_id -> Text,
        district_code -> Text,
        ruleset -> Text,
        item -> Text,
        rule -> Text,
        level -> Text,
        pending -> Bool,
        description -> Text,
        item_title -> Text,
        clause -> Nullable<Text>,
        category -> Nullable<Text>,
        basis -> Nullable<Text>,
        immediate -> Nullable<Text>,
        location -> Nullable<Text>,
        photos -> Text,
        found_on -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    rectifications (id) {
        id -> Text,
        hazard_id -> Text,
        institution_id -> Text,
        district_code -> Text,
        measure -> Text,
        deadline -> Text,
        status -> Text,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    responsibilities (id) {
        id -> Text,
        hazard_id -> Text,
        institution_id -> Text,
        district_code -> Text,
        party_role -> Text,
        party_title -> Text,
        party_name -> Text,
        department -> Text,
        department_title -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> Text,
        actor -> Text,
        action -> Text,
        entity -> Text,
        entity_id -> Text,
        payload -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
    }
}

diesel::table! {
    rectification_steps (id) {
        id -> Text,
        rectification_id -> Text,
        action -> Text,
        note -> Nullable<Text>,
        evidence -> Text,
        old_deadline -> Nullable<Text>,
        new_deadline -> Nullable<Text>,
        actor -> Text,
        at -> Text,
    }
}

diesel::table! {
    credit_events (id) {
        id -> Text,
        institution_id -> Text,
        kind -> Text,
        occurred_on -> Text,
        source -> Text,
        source_id -> Text,
        document_no -> Nullable<Text>,
        note -> Nullable<Text>,
        created_by -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    publication_batches (id) {
        id -> Text,
        region_code -> Text,
        status -> Text,
        created_by -> Text,
        created_at -> Text,
        published_by -> Nullable<Text>,
        published_at -> Nullable<Text>,
    }
}

diesel::table! {
    publications (id) {
        id -> Text,
        batch_id -> Text,
        kind -> Text,
        source_id -> Text,
        institution_id -> Nullable<Text>,
        district_code -> Text,
        record -> Text,
        status -> Text,
        published_on -> Nullable<Text>,
        withdraw_on -> Nullable<Text>,
        audit_seq -> Nullable<BigInt>,
        replaces -> Nullable<Text>,
        withdrawn_reason -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    grade_applications (id) {
        id -> Text,
        institution_id -> Text,
        district_code -> Text,
        self_assessment_id -> Text,
        requested_grade -> Text,
        status -> Text,
        review_reason -> Nullable<Text>,
        assessment_id -> Nullable<Text>,
        computed_grade -> Nullable<Text>,
        decided_grade -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_on -> Nullable<Text>,
        notice_until -> Nullable<Text>,
        version -> Integer,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    grades (id) {
        id -> Text,
        institution_id -> Text,
        application_id -> Text,
        grade -> Text,
        grade_title -> Text,
        ruleset_hash -> Text,
        decision_date -> Text,
        valid_until -> Text,
        issuing_level -> Text,
        status -> Text,
        certificate_no -> Text,
        upgrade_of -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        region_code -> Text,
        url -> Text,
        secret -> Text,
        events -> Text,
        active -> Bool,
        created_by -> Text,
        created_at -> Text,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Text,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Text,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Text>,
        created_at -> Text,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(inspection_members -> inspections (inspection_id));
diesel::joinable!(answers -> inspections (inspection_id));
diesel::joinable!(photos -> inspections (inspection_id));
diesel::joinable!(rectifications -> hazards (hazard_id));
diesel::joinable!(responsibilities -> hazards (hazard_id));
diesel::joinable!(inspections -> institutions (institution_id));
diesel::joinable!(hazards -> institutions (institution_id));
diesel::joinable!(grades -> institutions (institution_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::allow_tables_to_appear_in_same_query!(
    institutions,
    inspectors,
    users,
    refresh_tokens,
    audit_log,
    audit_head,
    rectification_steps,
    credit_events,
    publication_batches,
    publications,
    grade_applications,
    grades,
    webhooks,
    webhook_deliveries,
    rulesets,
    ruleset_activations,
    plans,
    draws,
    draw_replacements,
    inspections,
    inspection_members,
    answers,
    answer_changes,
    photos,
    uploads,
    upload_chunks,
    outcomes,
    hazards,
    rectifications,
    responsibilities,
);
