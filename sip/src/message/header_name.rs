//! The typed [`Header`] for a header name, without walking rsipstack's `make_header` chain of
//! ~80 case-insensitive comparisons for the names every message carries: those (and their
//! compact forms, RFC 3261 §7.3.3) are dispatched on length first; every other name goes to
//! `make_header`, so the variant is always the one the codec would give.

use rsipstack::sip::headers::make_header;
use rsipstack::sip::{
    Allow, CSeq, CallId, Contact, ContentLength, ContentType, From, Header, MaxForwards,
    RecordRoute, Route, Subject, Supported, To, UserAgent, Via,
};

/// The header called `name` (as written: any case, compact or full) with `value`.
pub(crate) fn typed_header(name: &str, value: String) -> Header {
    let is = |known: &str| name.eq_ignore_ascii_case(known);
    let Some(&first) = name.as_bytes().first() else {
        return make_header(name, value);
    };
    match (name.len(), first.to_ascii_lowercase()) {
        (1, b'v') => Header::Via(Via(value)),
        (1, b'f') => Header::From(From(value)),
        (1, b't') => Header::To(To(value)),
        (1, b'i') => Header::CallId(CallId(value)),
        (1, b'm') => Header::Contact(Contact(value)),
        (1, b'l') => Header::ContentLength(ContentLength(value)),
        (1, b'c') => Header::ContentType(ContentType(value)),
        (1, b'k') => Header::Supported(Supported(value)),
        (1, b's') => Header::Subject(Subject(value)),
        (2, b't') if is("To") => Header::To(To(value)),
        (3, b'v') if is("Via") => Header::Via(Via(value)),
        (4, b'f') if is("From") => Header::From(From(value)),
        (4, b'c') if is("CSeq") => Header::CSeq(CSeq(value)),
        (5, b'a') if is("Allow") => Header::Allow(Allow(value)),
        (5, b'r') if is("Route") => Header::Route(Route(value)),
        (7, b'c') if is("Call-ID") => Header::CallId(CallId(value)),
        (7, b'c') if is("Contact") => Header::Contact(Contact(value)),
        (7, b's') if is("Subject") => Header::Subject(Subject(value)),
        (9, b's') if is("Supported") => Header::Supported(Supported(value)),
        (10, b'u') if is("User-Agent") => Header::UserAgent(UserAgent(value)),
        (12, b'm') if is("Max-Forwards") => Header::MaxForwards(MaxForwards(value)),
        (12, b'c') if is("Content-Type") => Header::ContentType(ContentType(value)),
        (12, b'r') if is("Record-Route") => Header::RecordRoute(RecordRoute(value)),
        (14, b'c') if is("Content-Length") => Header::ContentLength(ContentLength(value)),
        _ => make_header(name, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_variant_as_the_codec_for_every_name_and_case() {
        let names = crate::message::wire::NAMES
            .iter()
            .chain(&["Via2", "Tx", "z"]);
        for name in names {
            let name = *name;
            for written in [
                name.to_string(),
                name.to_ascii_lowercase(),
                name.to_ascii_uppercase(),
            ] {
                assert_eq!(
                    typed_header(&written, "v".into()),
                    make_header(&written, "v".into()),
                    "{written:?}"
                );
            }
        }
    }
}
