//! What the listings share: their newest-first order, and the filters of a query other than
//! its program and its term.

use domain::UserQuery;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, Condition};

use crate::entity::users;
use crate::keyset::KeyOrder;

/// The listing's order newest first: `created_at`, then id, descending.
pub(super) fn newest_first() -> KeyOrder {
    KeyOrder {
        ms: Expr::col((users::Entity, users::Column::CreatedAt)),
        id: Expr::col((users::Entity, users::Column::Id)),
        descending: true,
    }
}

/// `cond` with `q`'s email, status and KYC status filters added.
pub(super) fn with_attributes(mut cond: Condition, q: &UserQuery) -> Condition {
    if let Some(email) = q.email_key() {
        cond = cond.add(users::Column::EmailKey.eq(email));
    }
    if let Some(status) = q.status() {
        cond = cond.add(users::Column::Status.eq(status.as_str()));
    }
    if let Some(kyc) = q.kyc_status() {
        cond = cond.add(users::Column::KycStatus.eq(kyc.as_str()));
    }
    cond
}
