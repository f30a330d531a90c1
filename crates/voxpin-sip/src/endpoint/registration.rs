//! The endpoint side of the REGISTER client: sending, responses, timers.

use std::cmp::Reverse;
use std::time::Instant;

use super::{ClientOwner, Endpoint, Event, TimerOwner};
use crate::auth::{authorization_for, Challenge};
use crate::msg::{HeaderName, Response};
use crate::register::{Phase, RegisterClient, Registration, RegistrationId, Step};

impl Endpoint {
    pub(super) fn register_inner(
        &mut self,
        now: Instant,
        registration: Registration,
    ) -> RegistrationId {
        let id = RegistrationId(self.next_registration);
        self.next_registration += 1;
        let call_id = self.new_sip_call_id();
        let from_tag = self.new_tag();
        let mut client = RegisterClient::new(registration, call_id, from_tag);
        client.start_attempt();
        self.registrations.insert(id, client);
        self.send_register(now, id, None);
        id
    }

    pub(super) fn unregister_inner(&mut self, now: Instant, id: RegistrationId) {
        if let Some(client) = self.registrations.get_mut(&id) {
            client.phase = Phase::Unregistering;
            client.timer = None;
            client.start_attempt();
            self.send_register(now, id, None);
            self.schedule_registration(id);
        }
    }

    fn send_register(
        &mut self,
        now: Instant,
        id: RegistrationId,
        challenge: Option<(HeaderName, Challenge)>,
    ) {
        let branch = self.new_branch();
        let cnonce = self.random_hex(8);
        let user_agent = self.config.user_agent.clone();
        let Some(client) = self.registrations.get(&id) else {
            return;
        };
        let transport = client.registration.transport;
        let destination = client.registration.destination;
        let via = self.via(transport, &branch);
        let contact = self.contact(transport);
        let Some(client) = self.registrations.get_mut(&id) else {
            return;
        };
        let authorization = match (&challenge, &client.registration.credentials) {
            (Some((header, challenge)), Some(creds)) => {
                let uri = client.registration.registrar.to_string();
                authorization_for(challenge, creds, "REGISTER", &uri, &cnonce, 1)
                    .ok()
                    .map(|value| (header.clone(), value))
            }
            _ => None,
        };
        if client.phase != Phase::Unregistering {
            client.phase = Phase::Registering;
        }
        client.timer = None;
        let request = client.build(&via, &contact, &user_agent, authorization);
        let key = self.start_client(
            now,
            request,
            destination,
            transport,
            ClientOwner::Register(id),
        );
        if let Some(client) = self.registrations.get_mut(&id) {
            client.transaction = key;
        }
    }

    pub(super) fn registration_response(
        &mut self,
        now: Instant,
        id: RegistrationId,
        response: &Response,
    ) {
        let Some(client) = self.registrations.get_mut(&id) else {
            return;
        };
        match client.handle_response(now, response) {
            Step::Nothing => {}
            Step::Resend(challenge) => self.send_register(now, id, challenge),
            Step::Report(state) => {
                let done = client.phase == Phase::Unregistered;
                self.events.push_back(Event::Registration {
                    registration: id,
                    state,
                });
                if done {
                    self.registrations.remove(&id);
                } else {
                    self.schedule_registration(id);
                }
            }
        }
    }

    pub(super) fn registration_failed(
        &mut self,
        now: Instant,
        id: RegistrationId,
        status: Option<u16>,
    ) {
        let Some(client) = self.registrations.get_mut(&id) else {
            return;
        };
        if client.phase == Phase::Unregistering {
            self.registrations.remove(&id);
            self.events.push_back(Event::Registration {
                registration: id,
                state: crate::register::RegistrationState::Unregistered,
            });
            return;
        }
        let state = client.fail(now, status);
        self.events.push_back(Event::Registration {
            registration: id,
            state,
        });
        self.schedule_registration(id);
    }

    pub(super) fn registration_timeout(&mut self, now: Instant, id: RegistrationId) {
        let Some(client) = self.registrations.get_mut(&id) else {
            return;
        };
        client.scheduled = None;
        if client.timer.is_some_and(|at| at <= now) {
            client.timer = None;
            client.start_attempt();
            self.send_register(now, id, None);
        } else {
            self.schedule_registration(id);
        }
    }

    fn schedule_registration(&mut self, id: RegistrationId) {
        let Some(client) = self.registrations.get_mut(&id) else {
            return;
        };
        if client.timer != client.scheduled {
            client.scheduled = client.timer;
            if let Some(at) = client.timer {
                self.timers
                    .push(Reverse((at, TimerOwner::Registration(id))));
            }
        }
    }
}
