//! A signed-in operator as every page sees it: who, its session, and the CSRF token of its
//! forms.

use storage::console::{Operator, SessionToken};

/// A signed-in operator and the CSRF token of its forms.
#[derive(Debug)]
pub struct Signed {
    /// The operator.
    pub operator: Operator,
    /// The session.
    pub token: SessionToken,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl Signed {
    /// The actor of its changes in events: `operator:opr-…`.
    pub fn actor(&self) -> String {
        format!("operator:{}", self.operator.id)
    }

    /// An operator-action record of `command` run by this operator (its actor is the
    /// operator's id; storage writes events of a screening decision as `operator:<actor>`).
    pub fn action(&self, command: &str) -> storage::OperatorAction {
        storage::OperatorAction::new(self.operator.id.to_string(), format!("console {command}"))
    }
}
