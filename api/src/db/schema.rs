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

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(institutions, inspectors, users, refresh_tokens);
