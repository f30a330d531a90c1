//! SIP messages: the model, parsing, printing, framing, and the checks a UAS makes.
//!
//! Everything else in voxpin works with the types below. The grammar is in-tree; `rsip` is
//! named only by this module's test oracle (`docs/decisions/0001-sip-message-parser.md`).
//! Parsing is strict where RFC 3261 is strict and lenient where RFC 4475 asks for it (folded
//! headers, whitespace before `:`, compact names, extension methods, escaped user parts), and
//! what a UAS answers to bad requests is [`check_request`]'s and [`salvage`]'s business
//! (`docs/decisions/0002-uas-checks-for-malformed-requests.md`).
//!
//! ```
//! use voxpin_sip::msg::{check_request, parse_datagram, salvage, Datagram, Message, Response,
//!                       UasCapabilities};
//!
//! let bytes = b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
//! v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9\r\n\
//! f: <sip:alice@example.com>;tag=9fxced76sl\r\n\
//! t: <sip:bob@example.com>\r\n\
//! i: 3848276298220188511@example.com\r\n\
//! CSeq: 1 OPTIONS\r\n\
//! l: 0\r\n\r\n";
//! let reply: Option<Response> = match parse_datagram(bytes) {
//!     Ok(Datagram::Message(Message::Request(req))) => {
//!         match check_request(&req, &UasCapabilities::default()) {
//!             Ok(()) => Some(Response::for_request(&req, 200, "OK")),
//!             Err(rejection) => Some(rejection.response(&req, "a-to-tag")),
//!         }
//!     }
//!     Ok(_) => None, // a response or a keep-alive: not for this example
//!     Err(e) => salvage(bytes).map(|s| s.response(e.response_status(), e.response_reason())),
//! };
//! assert_eq!(reply.unwrap().status, 200);
//! ```

mod check;
mod error;
mod framing;
mod header;
mod message;
mod method;
mod parse;
#[cfg(test)]
mod rsip_oracle;
mod salvage;
mod uri;
mod values;

pub use check::{check_request, check_response, Rejection, UasCapabilities};
pub use error::ParseError;
pub use framing::StreamFramer;
pub use header::{HeaderName, Headers};
pub use message::{Message, Request, Response};
pub use method::Method;
pub use parse::{parse_datagram, Datagram, MAX_MESSAGE};
pub use salvage::{salvage, Salvage};
pub use uri::{Param, Scheme, Uri};
pub use values::{CSeq, NameAddr, Via};
