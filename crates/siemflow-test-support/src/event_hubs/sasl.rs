//! SASL as Event Hubs offers it: ANONYMOUS (the client then authorizes each entity with CBS
//! put-token) and PLAIN with a shared access key's name as the user and the key as the password
//! (the key's claims then cover the whole namespace, without CBS).

use std::sync::{Arc, Mutex};

use fe2o3_amqp::acceptor::SaslAcceptor;
use fe2o3_amqp::acceptor::sasl_acceptor::SaslServerFrame;
use fe2o3_amqp_types::primitives::{Array, Symbol};
use fe2o3_amqp_types::sasl::{SaslCode, SaslInit, SaslOutcome, SaslResponse};

/// One connection's SASL exchange; [`plain_user`](Self::plain_user) says who PLAIN authenticated.
#[derive(Debug, Clone)]
pub(crate) struct EventHubsSasl {
    keys: Arc<Vec<(String, String)>>,
    plain_user: Arc<Mutex<Option<String>>>,
}

impl EventHubsSasl {
    pub(crate) fn new(keys: &[(String, String)]) -> Self {
        Self {
            keys: Arc::new(keys.to_vec()),
            plain_user: Arc::default(),
        }
    }

    /// The key name a PLAIN exchange authenticated, if that is how the client signed in.
    pub(crate) fn plain_user(&self) -> Option<String> {
        self.plain_user
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn plain(&self, response: &[u8]) -> SaslCode {
        let mut parts = response.split(|byte| *byte == 0);
        let (Some(_authzid), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return SaslCode::Auth;
        };
        let known = self
            .keys
            .iter()
            .find(|(name, key)| name.as_bytes() == user && key.as_bytes() == password);
        match known {
            Some((name, _)) => {
                *self
                    .plain_user
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(name.clone());
                SaslCode::Ok
            }
            None => SaslCode::Auth,
        }
    }
}

fn outcome(code: SaslCode) -> SaslServerFrame {
    SaslServerFrame::Outcome(SaslOutcome {
        code,
        additional_data: None,
    })
}

impl SaslAcceptor for EventHubsSasl {
    fn mechanisms(&self) -> Array<Symbol> {
        Array::from(vec![Symbol::from("ANONYMOUS"), Symbol::from("PLAIN")])
    }

    fn on_init(&mut self, init: SaslInit) -> SaslServerFrame {
        match init.mechanism.as_str() {
            "ANONYMOUS" => outcome(SaslCode::Ok),
            "PLAIN" => {
                let response = init
                    .initial_response
                    .map(|b| b.into_vec())
                    .unwrap_or_default();
                outcome(self.plain(&response))
            }
            _ => outcome(SaslCode::Auth),
        }
    }

    fn on_response(&mut self, _response: SaslResponse) -> SaslServerFrame {
        outcome(SaslCode::Sys)
    }
}

#[cfg(test)]
mod tests {
    use fe2o3_amqp::connection::ConnectionHandle;
    use fe2o3_amqp::sasl_profile::SaslProfile;
    use fe2o3_amqp::{Connection, Receiver, Session};
    use fe2o3_amqp_types::messaging::Body;
    use fe2o3_amqp_types::primitives::Value;

    use crate::event_hubs::{EventHubsEmulator, HubSpec};

    const PARTITION: &str = "defender/ConsumerGroups/$Default/Partitions/0";

    async fn connect(
        emulator: &EventHubsEmulator,
        profile: SaslProfile,
    ) -> Option<ConnectionHandle<()>> {
        let url = format!("amqp://{}", emulator.address());
        Connection::builder()
            .container_id("sasl-test")
            .sasl_profile(profile)
            .open(url.as_str())
            .await
            .ok()
    }

    #[tokio::test]
    async fn plain_with_the_key_reads_without_cbs_and_other_credentials_are_refused() {
        let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 1)], 0);
        emulator
            .publish("defender", b"{\"records\":[]}".to_vec())
            .unwrap();
        let (name, key) = emulator.key();

        let plain = |password: &str| SaslProfile::Plain {
            username: name.into(),
            password: password.into(),
        };
        let mut connection = connect(&emulator, plain(key)).await.unwrap();
        let mut session = Session::begin(&mut connection).await.unwrap();
        let mut receiver = Receiver::attach(&mut session, "plain", PARTITION)
            .await
            .unwrap();
        let delivery = receiver.recv::<Body<Value>>().await.unwrap();
        receiver.accept(&delivery).await.unwrap();
        assert!(matches!(delivery.body(), Body::Data(_)));

        assert!(connect(&emulator, plain("not the key")).await.is_none());

        // ANONYMOUS signs in, but reading needs a put-token first.
        let mut anonymous = connect(&emulator, SaslProfile::Anonymous).await.unwrap();
        let mut session = Session::begin(&mut anonymous).await.unwrap();
        let refused = match Receiver::attach(&mut session, "anonymous", PARTITION).await {
            Err(_) => true,
            Ok(mut receiver) => receiver.recv::<Body<Value>>().await.is_err(),
        };
        assert!(refused, "a receiver without a token is detached");
    }
}
