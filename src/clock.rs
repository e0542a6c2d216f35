//! The time stamps crux writes into its files: RFC 3339, UTC, whole seconds. Its own module,
//! below the registry and the index that both stamp their entries (the index builds on the
//! registry).

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
