//! Matching messages to transactions (RFC 3261 sections 17.1.3 and 17.2.3).
//!
//! A request carrying a branch that starts with the magic cookie
//! `z9hG4bK` is matched by branch, sent-by and method (ACK counts as
//! INVITE). A request without the cookie comes from an RFC 2543 element and
//! is matched by Request-URI, From tag, Call-ID, CSeq number, top Via and
//! method. Responses match client transactions by branch and CSeq method.

use crate::msg::{Method, Request, Response};

/// The prefix of every RFC 3261 branch (RFC 3261 section 8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies one transaction in an endpoint's tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionKey {
    /// A client transaction: our branch and the request method.
    Client {
        /// The branch of the Via we put on the request.
        branch: String,
        /// The method name from CSeq (`INVITE`, `BYE`, `CANCEL`, ...).
        method: String,
    },
    /// A server transaction for an RFC 3261 request.
    Server {
        /// The branch of the top Via.
        branch: String,
        /// The top Via's sent-by (`host[:port]`), lowercased.
        sent_by: String,
        /// The method, with ACK mapped to INVITE.
        method: String,
    },
    /// A server transaction for an RFC 2543 request (no magic cookie).
    Legacy {
        /// The Request-URI as printed.
        request_uri: String,
        /// The From tag, if any.
        from_tag: String,
        /// The Call-ID.
        call_id: String,
        /// The CSeq sequence number.
        cseq: u32,
        /// The top Via as printed.
        via: String,
        /// The method, with ACK mapped to INVITE.
        method: String,
    },
}

impl TransactionKey {
    /// The key of the client transaction that sent `request` (or to which a
    /// response with the same top Via branch and CSeq method belongs).
    pub fn client(branch: &str, method: &Method) -> Self {
        TransactionKey::Client {
            branch: branch.to_owned(),
            method: method.to_string(),
        }
    }

    /// The key of the client transaction a received response belongs to;
    /// `None` when the response lacks a usable Via branch or CSeq.
    pub fn for_response(response: &Response) -> Option<Self> {
        let via = response.headers.top_via().ok()?;
        let cseq = response.headers.cseq().ok()?;
        Some(Self::client(via.branch()?, &cseq.method))
    }

    /// The key of the server transaction a received request belongs to;
    /// `None` when the request lacks a Via, Call-ID or CSeq.
    ///
    /// ACK maps to INVITE; a CANCEL gets its own key (use
    /// [`with_method`](Self::with_method) to find the INVITE it cancels).
    pub fn for_request(request: &Request) -> Option<Self> {
        let via = request.headers.top_via().ok()?;
        let method = match request.method {
            Method::Ack => Method::Invite.to_string(),
            ref other => other.to_string(),
        };
        match via.branch() {
            Some(branch) if branch.starts_with(BRANCH_MAGIC_COOKIE) => {
                Some(TransactionKey::Server {
                    branch: branch.to_owned(),
                    sent_by: via.sent_by().to_ascii_lowercase(),
                    method,
                })
            }
            _ => {
                let from_tag = request
                    .headers
                    .from()
                    .ok()
                    .and_then(|f| f.tag().map(str::to_owned))
                    .unwrap_or_default();
                Some(TransactionKey::Legacy {
                    request_uri: request.uri.to_string(),
                    from_tag,
                    call_id: request.headers.call_id().ok()?.to_owned(),
                    cseq: request.headers.cseq().ok()?.seq,
                    via: via.to_string(),
                    method,
                })
            }
        }
    }

    /// The same key for another method: the INVITE a CANCEL targets
    /// (RFC 3261 section 9.2).
    pub fn with_method(&self, method: &Method) -> Self {
        let mut key = self.clone();
        match &mut key {
            TransactionKey::Client { method: m, .. }
            | TransactionKey::Server { method: m, .. }
            | TransactionKey::Legacy { method: m, .. } => *m = method.to_string(),
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_datagram, Datagram, Message};

    fn request(text: &str) -> Request {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()) {
            Ok(Datagram::Message(Message::Request(r))) => r,
            other => panic!("{other:?}"),
        }
    }

    fn with(method: &str, branch: &str, cseq: &str) -> Request {
        request(&format!(
            "{method} sip:bob@192.0.2.1 SIP/2.0\n\
             Via: SIP/2.0/UDP Host.Example:5060;branch={branch}\n\
             From: <sip:alice@example.com>;tag=a1\n\
             To: <sip:bob@example.com>\n\
             Call-ID: c1\n\
             CSeq: {cseq}\n\
             Content-Length: 0\n\n"
        ))
    }

    #[test]
    fn ack_and_retransmission_match_the_invite_by_branch() {
        let invite = TransactionKey::for_request(&with("INVITE", "z9hG4bKabc", "1 INVITE"));
        let again = TransactionKey::for_request(&with("INVITE", "z9hG4bKabc", "1 INVITE"));
        let ack = TransactionKey::for_request(&with("ACK", "z9hG4bKabc", "1 ACK"));
        assert!(invite.is_some());
        assert_eq!(invite, again);
        assert_eq!(invite, ack);
        let Some(TransactionKey::Server { sent_by, .. }) = &invite else {
            panic!("{invite:?}");
        };
        assert_eq!(
            sent_by, "host.example:5060",
            "sent-by compares case-insensitively"
        );
    }

    #[test]
    fn cancel_has_its_own_key_but_finds_the_invite() {
        let invite = TransactionKey::for_request(&with("INVITE", "z9hG4bKabc", "1 INVITE"));
        let cancel = TransactionKey::for_request(&with("CANCEL", "z9hG4bKabc", "1 CANCEL"));
        assert_ne!(invite, cancel);
        assert_eq!(cancel.map(|k| k.with_method(&Method::Invite)), invite);
    }

    #[test]
    fn other_branch_is_another_transaction() {
        let a = TransactionKey::for_request(&with("BYE", "z9hG4bKone", "2 BYE"));
        let b = TransactionKey::for_request(&with("BYE", "z9hG4bKtwo", "2 BYE"));
        assert_ne!(a, b);
    }

    #[test]
    fn rfc_2543_requests_fall_back_to_dialog_fields() {
        let invite = TransactionKey::for_request(&with("INVITE", "old-style", "5 INVITE"));
        let ack = TransactionKey::for_request(&with("ACK", "old-style", "5 ACK"));
        let next = TransactionKey::for_request(&with("INVITE", "old-style", "6 INVITE"));
        assert!(matches!(
            invite,
            Some(TransactionKey::Legacy { cseq: 5, .. })
        ));
        assert_eq!(invite, ack);
        assert_ne!(invite, next);
        let no_branch = request(
            "OPTIONS sip:bob@192.0.2.1 SIP/2.0\n\
             Via: SIP/2.0/UDP 192.0.2.9\n\
             From: <sip:alice@example.com>;tag=a1\n\
             To: <sip:bob@example.com>\n\
             Call-ID: c2\n\
             CSeq: 1 OPTIONS\n\
             Content-Length: 0\n\n",
        );
        assert!(matches!(
            TransactionKey::for_request(&no_branch),
            Some(TransactionKey::Legacy { .. })
        ));
    }

    #[test]
    fn responses_match_by_branch_and_cseq_method() {
        let response = match parse_datagram(
            b"SIP/2.0 200 OK\r\n\
              Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKxyz\r\n\
              From: <sip:a@example.com>;tag=1\r\n\
              To: <sip:b@example.com>;tag=2\r\n\
              Call-ID: c\r\n\
              CSeq: 1 CANCEL\r\n\
              Content-Length: 0\r\n\r\n",
        ) {
            Ok(Datagram::Message(Message::Response(r))) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            TransactionKey::for_response(&response),
            Some(TransactionKey::client("z9hG4bKxyz", &Method::Cancel))
        );
        assert_ne!(
            TransactionKey::for_response(&response),
            Some(TransactionKey::client("z9hG4bKxyz", &Method::Invite))
        );
    }
}
