//! Reading businesses: the listing (with its one search function), the audit trail, the
//! program of a business, the KYB queue.

use domain::{Business, BusinessId, BusinessQuery, ProgramId};
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};

use super::BusinessEvent;
use super::entity::business_events;
use crate::SqlStore;
use crate::businesses::business_from_rows;
use crate::entity::{business_meta_data, businesses};
use crate::error::StorageError;
use crate::repo::Page;
use crate::time::from_ms;
use crate::users::rows::uuid_of;

/// The search of `/business/get-all`: a case-insensitive substring of the stored,
/// case-folded `search_text` (name, email, `dba`). A plain `LIKE '%…%'` scan of the
/// program's businesses for now; an index-backed search replaces this one function.
fn search_condition(key: &str) -> Condition {
    let pattern = format!("%{}%", escape_like(key));
    Condition::all()
        .add(Expr::col(businesses::Column::SearchText).like(LikeExpr::new(pattern).escape('\\')))
}

/// `text` with the LIKE wildcards `%`, `_` and the escape `\` escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A page of the program's businesses matching the query, newest first, and the total.
pub(super) async fn list(
    store: &SqlStore,
    program: ProgramId,
    q: &BusinessQuery,
) -> Result<Page<Business>, StorageError> {
    let mut filter =
        Condition::all().add(businesses::Column::ProgramId.eq(program.uuid().to_string()));
    if let Some(status) = q.status() {
        filter = filter.add(businesses::Column::Status.eq(status.as_str()));
    }
    if let Some(kyb) = q.kyb_status() {
        filter = filter.add(businesses::Column::KybStatus.eq(kyb.as_str()));
    }
    if let Some(key) = q.search_key() {
        filter = filter.add(search_condition(&key));
    }
    let total = businesses::Entity::find()
        .filter(filter.clone())
        .count(&store.db)
        .await?;
    let rows = businesses::Entity::find()
        .filter(filter)
        .order_by_desc(businesses::Column::CreatedAt)
        .order_by_desc(businesses::Column::Id)
        .offset(q.page().offset())
        .limit(q.page().per_page())
        .all(&store.db)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut meta: std::collections::HashMap<String, Vec<business_meta_data::Model>> =
        std::collections::HashMap::new();
    if !ids.is_empty() {
        for m in business_meta_data::Entity::find()
            .filter(business_meta_data::Column::BusinessId.is_in(ids))
            .order_by_asc(business_meta_data::Column::BusinessId)
            .order_by_asc(business_meta_data::Column::Position)
            .all(&store.db)
            .await?
        {
            meta.entry(m.business_id.clone()).or_default().push(m);
        }
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let id = BusinessId::from_uuid(uuid_of(&row.id, "businesses.id")?);
            let m = meta.remove(&row.id).unwrap_or_default();
            business_from_rows(id, program, &row, m)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        total,
        total_is_estimate: false,
    })
}

/// The audit trail of a business, oldest first.
pub(super) async fn events(
    store: &SqlStore,
    program: ProgramId,
    id: BusinessId,
) -> Result<Vec<BusinessEvent>, StorageError> {
    business_events::Entity::find()
        .filter(business_events::Column::BusinessId.eq(id.uuid().to_string()))
        .filter(business_events::Column::ProgramId.eq(program.uuid().to_string()))
        .order_by_asc(business_events::Column::CreatedAt)
        .order_by_asc(business_events::Column::Id)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|e| {
            Ok(BusinessEvent {
                at: from_ms(e.created_at)?,
                kind: e.kind,
                from: e.from_state,
                to: e.to_state,
                subject: e.subject,
                reason: e.reason,
                actor: e.actor,
            })
        })
        .collect()
}

/// The program a business belongs to.
pub(super) async fn program_of(
    store: &SqlStore,
    id: BusinessId,
) -> Result<Option<ProgramId>, StorageError> {
    let program: Option<String> = businesses::Entity::find_by_id(id.uuid().to_string())
        .select_only()
        .column(businesses::Column::ProgramId)
        .into_tuple()
        .one(&store.db)
        .await?;
    program
        .map(|p| uuid_of(&p, "businesses.program_id").map(ProgramId::from_uuid))
        .transpose()
}
