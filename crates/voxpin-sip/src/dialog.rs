//! Dialogs (RFC 3261 section 12): the peer-to-peer relationship an INVITE
//! creates, identified by Call-ID and the two tags.
//!
//! A [`Dialog`] remembers what in-dialog requests need: the remote target
//! (the peer's Contact), the route set (Record-Route), both CSeq spaces and
//! the From/To name-addresses with their tags. It builds BYE, INFO and ACK
//! requests and checks the CSeq of requests it receives.

use bytes::Bytes;

use crate::msg::{CSeq, HeaderName, Headers, Method, NameAddr, Request, Response, Uri};

/// Identifies a dialog from our side: Call-ID, our tag, the peer's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The SIP Call-ID.
    pub call_id: String,
    /// Our tag (From tag on requests we send).
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog a received request claims to belong to: its To tag is ours,
    /// its From tag the peer's. `None` without a To tag (not in a dialog).
    pub fn for_incoming_request(request: &Request) -> Option<Self> {
        let to = request.headers.to().ok()?;
        let from = request.headers.from().ok()?;
        Some(DialogId {
            call_id: request.headers.call_id().ok()?.to_owned(),
            local_tag: to.tag()?.to_owned(),
            remote_tag: from.tag().unwrap_or_default().to_owned(),
        })
    }
}

/// A confirmed or early dialog.
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    local: NameAddr,
    remote: NameAddr,
    remote_target: Uri,
    route_set: Vec<String>,
    local_seq: u32,
    remote_seq: Option<u32>,
}

impl Dialog {
    /// The UAC side of a dialog created by `response` (1xx with a To tag or
    /// 2xx) to our `invite` (RFC 3261 section 12.1.2). `None` when the
    /// response lacks a To tag or the messages lack the headers a dialog
    /// needs.
    pub fn uac(invite: &Request, response: &Response) -> Option<Self> {
        let local = invite.headers.from().ok()?;
        let remote = response.headers.to().ok()?;
        let id = DialogId {
            call_id: invite.headers.call_id().ok()?.to_owned(),
            local_tag: local.tag()?.to_owned(),
            remote_tag: remote.tag()?.to_owned(),
        };
        let remote_target = match response.headers.contact() {
            Some(Ok(contact)) => contact.uri,
            _ => invite.uri.clone(),
        };
        let mut route_set = header_list(&response.headers, &HeaderName::RecordRoute);
        route_set.reverse();
        Some(Dialog {
            id,
            local,
            remote,
            remote_target,
            route_set,
            local_seq: invite.headers.cseq().ok()?.seq,
            remote_seq: None,
        })
    }

    /// The UAS side of a dialog created by our response to `invite`, with
    /// `local_tag` as our To tag (RFC 3261 section 12.1.1).
    pub fn uas(invite: &Request, local_tag: &str) -> Option<Self> {
        let mut local = invite.headers.to().ok()?;
        local.set_tag(local_tag);
        let remote = invite.headers.from().ok()?;
        let id = DialogId {
            call_id: invite.headers.call_id().ok()?.to_owned(),
            local_tag: local_tag.to_owned(),
            remote_tag: remote.tag().unwrap_or_default().to_owned(),
        };
        let remote_target = match invite.headers.contact() {
            Some(Ok(contact)) => contact.uri,
            _ => remote.uri.clone(),
        };
        Some(Dialog {
            id,
            local,
            remote,
            remote_target,
            route_set: header_list(&invite.headers, &HeaderName::RecordRoute),
            // Our own CSeq space starts anywhere; 1 keeps traces readable.
            local_seq: 0,
            remote_seq: Some(invite.headers.cseq().ok()?.seq),
        })
    }

    /// The dialog a forked 2xx (same INVITE, another To tag) would create
    /// beside this one: same local side, the new peer's tag, target and
    /// route set (RFC 3261 sections 12.1.2 and 13.2.2.4). `None` when the
    /// response has no To tag.
    pub fn fork(&self, response: &Response) -> Option<Self> {
        let remote = response.headers.to().ok()?;
        let remote_tag = remote.tag()?.to_owned();
        let mut route_set = header_list(&response.headers, &HeaderName::RecordRoute);
        route_set.reverse();
        let remote_target = match response.headers.contact() {
            Some(Ok(contact)) => contact.uri,
            _ => self.remote_target.clone(),
        };
        Some(Dialog {
            id: DialogId {
                remote_tag,
                ..self.id.clone()
            },
            local: self.local.clone(),
            remote,
            remote_target,
            route_set,
            local_seq: response.headers.cseq().ok()?.seq,
            remote_seq: None,
        })
    }

    /// The dialog's identifier.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// The peer's Contact URI.
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// Updates the remote target from a target-refresh request or its 2xx
    /// (RFC 3261 section 12.2).
    pub fn refresh_target(&mut self, contact: Uri) {
        self.remote_target = contact;
    }

    /// Checks the CSeq of a request received in the dialog (RFC 3261
    /// section 12.2.2): a lower number than the last one seen means an
    /// out-of-order request, answered 500. ACK and CANCEL reuse their
    /// INVITE's number and are not checked.
    pub fn accept_remote_cseq(&mut self, seq: u32) -> bool {
        match self.remote_seq {
            Some(last) if seq < last => false,
            _ => {
                self.remote_seq = Some(seq);
                true
            }
        }
    }

    /// Builds an in-dialog request (RFC 3261 section 12.2.1.1) with a fresh
    /// CSeq number. `via` is the complete Via value (with branch).
    pub fn request(&mut self, method: Method, via: &str) -> Request {
        self.local_seq = self.local_seq.wrapping_add(1);
        let seq = self.local_seq;
        self.build(method, seq, via, Bytes::new())
    }

    /// Builds the ACK for a 2xx to the INVITE with CSeq number `invite_seq`
    /// (RFC 3261 section 13.2.2.4).
    pub fn ack(&self, invite_seq: u32, via: &str) -> Request {
        self.build(Method::Ack, invite_seq, via, Bytes::new())
    }

    /// The CSeq number of the last request we sent in the dialog.
    pub fn local_seq(&self) -> u32 {
        self.local_seq
    }

    fn build(&self, method: Method, seq: u32, via: &str, body: Bytes) -> Request {
        let mut headers = Headers::default();
        headers.push(HeaderName::Via, via);
        headers.push(HeaderName::MaxForwards, "70");
        // Loose routing when the first route has `lr` (RFC 3261 section
        // 12.2.1.1); a strict router gets the remote target as last Route.
        let strict = self
            .route_set
            .first()
            .is_some_and(|route| !route.contains(";lr"));
        let mut uri = self.remote_target.clone();
        let mut routes = self.route_set.clone();
        if strict {
            if let Some(first) = routes.first() {
                let inner = first.trim().trim_start_matches('<');
                let inner = inner.split('>').next().unwrap_or(inner);
                if let Ok(strict_uri) = Uri::parse(inner) {
                    uri = strict_uri;
                    routes.remove(0);
                    routes.push(format!("<{}>", self.remote_target));
                }
            }
        }
        for route in routes {
            headers.push(HeaderName::Route, route);
        }
        headers.push(HeaderName::From, self.local.to_string());
        headers.push(HeaderName::To, self.remote.to_string());
        headers.push(HeaderName::CallId, self.id.call_id.clone());
        headers.push(
            HeaderName::CSeq,
            CSeq {
                seq,
                method: method.clone(),
            }
            .to_string(),
        );
        Request {
            method,
            uri,
            headers,
            body,
        }
    }
}

/// Every entry of a comma-separated header (`Record-Route`), in order,
/// splitting only on commas outside `<...>` and quotes.
pub(crate) fn header_list(headers: &Headers, name: &HeaderName) -> Vec<String> {
    let mut entries = Vec::new();
    for value in headers.all(name) {
        let mut depth_angle = false;
        let mut quoted = false;
        let mut current = String::new();
        for c in value.chars() {
            match c {
                '"' => quoted = !quoted,
                '<' if !quoted => depth_angle = true,
                '>' if !quoted => depth_angle = false,
                ',' if !quoted && !depth_angle => {
                    if !current.trim().is_empty() {
                        entries.push(current.trim().to_owned());
                    }
                    current.clear();
                    continue;
                }
                _ => {}
            }
            current.push(c);
        }
        if !current.trim().is_empty() {
            entries.push(current.trim().to_owned());
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_datagram, Datagram, Message};

    fn message(text: &str) -> Message {
        match parse_datagram(text.replace('\n', "\r\n").as_bytes()) {
            Ok(Datagram::Message(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    fn invite() -> Request {
        match message(
            "INVITE sip:bob@192.0.2.2 SIP/2.0\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
             From: <sip:alice@example.com>;tag=alice-tag\n\
             To: <sip:bob@example.com>\n\
             Call-ID: dlg-1\n\
             CSeq: 7 INVITE\n\
             Contact: <sip:alice@192.0.2.1:5060>\n\
             Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n\
             Content-Length: 0\n\n",
        ) {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    fn ok() -> Response {
        match message(
            "SIP/2.0 200 OK\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n\
             Record-Route: <sip:p1.example.com;lr>\n\
             Record-Route: <sip:p2.example.com;lr>\n\
             From: <sip:alice@example.com>;tag=alice-tag\n\
             To: <sip:bob@example.com>;tag=bob-tag\n\
             Call-ID: dlg-1\n\
             CSeq: 7 INVITE\n\
             Contact: <sip:bob@192.0.2.2:5070>\n\
             Content-Length: 0\n\n",
        ) {
            Message::Response(r) => r,
            Message::Request(_) => unreachable!(),
        }
    }

    #[test]
    fn uac_dialog_reverses_the_route_set_and_targets_the_contact() {
        let mut dialog = Dialog::uac(&invite(), &ok()).unwrap();
        assert_eq!(
            dialog.id(),
            &DialogId {
                call_id: "dlg-1".into(),
                local_tag: "alice-tag".into(),
                remote_tag: "bob-tag".into()
            }
        );
        let bye = dialog.request(Method::Bye, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2");
        assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.2:5070");
        let routes: Vec<_> = bye.headers.all(&HeaderName::Route).collect();
        assert_eq!(
            routes,
            ["<sip:p2.example.com;lr>", "<sip:p1.example.com;lr>"]
        );
        assert_eq!(bye.headers.cseq().unwrap().seq, 8);
        assert_eq!(bye.headers.from().unwrap().tag(), Some("alice-tag"));
        assert_eq!(bye.headers.to().unwrap().tag(), Some("bob-tag"));
        let ack = dialog.ack(7, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3");
        assert_eq!(ack.headers.cseq().unwrap().to_string(), "7 ACK");
    }

    #[test]
    fn uas_dialog_keeps_the_route_order_and_checks_cseq() {
        let mut dialog = Dialog::uas(&invite(), "bob-tag").unwrap();
        assert_eq!(dialog.id().local_tag, "bob-tag");
        assert_eq!(dialog.id().remote_tag, "alice-tag");
        let bye = dialog.request(Method::Bye, "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK9");
        assert_eq!(bye.uri.to_string(), "sip:alice@192.0.2.1:5060");
        let routes: Vec<_> = bye.headers.all(&HeaderName::Route).collect();
        assert_eq!(
            routes,
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        assert_eq!(bye.headers.from().unwrap().tag(), Some("bob-tag"));
        assert!(dialog.accept_remote_cseq(8));
        assert!(!dialog.accept_remote_cseq(6), "out of order");
    }

    #[test]
    fn incoming_request_dialog_id_swaps_tags() {
        let bye = match message(
            "BYE sip:alice@192.0.2.1 SIP/2.0\n\
             Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK5\n\
             From: <sip:bob@example.com>;tag=bob-tag\n\
             To: <sip:alice@example.com>;tag=alice-tag\n\
             Call-ID: dlg-1\n\
             CSeq: 1 BYE\n\
             Content-Length: 0\n\n",
        ) {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        };
        let uac = Dialog::uac(&invite(), &ok()).unwrap();
        assert_eq!(
            DialogId::for_incoming_request(&bye).as_ref(),
            Some(uac.id())
        );
    }

    #[test]
    fn header_lists_split_outside_brackets_and_quotes() {
        let mut headers = Headers::default();
        headers.push(
            HeaderName::RecordRoute,
            "<sip:a.example;lr>, \"x, y\" <sip:b.example;lr>,<sip:c,d@e.example>",
        );
        assert_eq!(
            header_list(&headers, &HeaderName::RecordRoute),
            [
                "<sip:a.example;lr>",
                "\"x, y\" <sip:b.example;lr>",
                "<sip:c,d@e.example>"
            ]
        );
    }
}
