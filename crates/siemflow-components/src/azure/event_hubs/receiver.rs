//! A partition's receive link with its credit window.
//!
//! Event Hubs sends pre-settled messages, and fe2o3's automatic credit only refills on
//! dispositions, which pre-settled messages never get. So the window is kept here: the
//! receiver grants `credit` messages, and tops the window up again once the caller has taken
//! half of it. A caller held back by backpressure takes nothing, the window runs out, and the
//! service stops sending.

use fe2o3_amqp::Receiver;
use fe2o3_amqp::link::{LinkStateError, RecvError};
use fe2o3_amqp::types::messaging::{Body, Message};
use fe2o3_amqp::types::primitives::Value;

use super::namespace::AmqpFailure;

/// A receive link that grants the service at most `credit` messages ahead of the caller.
#[derive(Debug)]
pub struct EventReceiver {
    link: Receiver,
    address: String,
    credit: u32,
    taken: u32,
}

impl EventReceiver {
    /// Grants the first window on a link attached with manual credit.
    pub(super) async fn start(
        mut link: Receiver,
        address: &str,
        credit: u32,
    ) -> Result<Self, AmqpFailure> {
        let credit = credit.max(2);
        link.set_credit(credit)
            .await
            .map_err(|error| AmqpFailure::new(format!("grant credit on {address}"), error))?;
        Ok(Self {
            link,
            address: address.to_string(),
            credit,
            taken: 0,
        })
    }

    /// The next message. Cancel safe: nothing is awaited but the link's own receive, so a
    /// message is either returned or left on the link.
    pub async fn recv(&mut self) -> Result<Message<Body<Value>>, AmqpFailure> {
        match self.link.recv::<Body<Value>>().await {
            Ok(delivery) => Ok(delivery.into_message()),
            Err(error) => Err(self.failure(error)),
        }
    }

    /// Counts one message as taken by the caller, and tops the window up when half of it is
    /// used. Called after [`recv`](Self::recv) returned, outside any `select!`, so a refill
    /// cannot cancel a receive.
    pub async fn taken(&mut self) -> Result<(), AmqpFailure> {
        self.taken += 1;
        if self.taken < self.credit / 2 {
            return Ok(());
        }
        self.taken = 0;
        self.link
            .set_credit(self.credit)
            .await
            .map_err(|error| AmqpFailure::new(format!("grant credit on {}", self.address), error))
    }

    /// Detaches the link.
    pub async fn close(self) {
        let _ = self.link.close().await;
    }

    fn failure(&self, error: RecvError) -> AmqpFailure {
        let what = format!("receive from {}", self.address);
        match error {
            RecvError::LinkStateError(
                LinkStateError::RemoteClosedWithError(error)
                | LinkStateError::RemoteDetachedWithError(error),
            ) => AmqpFailure::with_condition(what, &error),
            other => AmqpFailure::new(what, other),
        }
    }
}
