//! The OpenAPI document's tables: which operations take an `Idempotency-Key`, and the links
//! from an answer's id to the operations that take it (for stateful testing).

/// The mutating operations: they take an `Idempotency-Key`.
pub(crate) const MUTATING: [&str; 17] = [
    "create_user",
    "update_user",
    "block_user",
    "unblock_user",
    "send_verification_request",
    "create_business",
    "create_webhook",
    "update_webhook",
    "delete_webhook",
    "rotate_webhook_secret",
    "resend_event",
    "update_business",
    "block_business",
    "unblock_business",
    "send_business_verification_request",
    "add_business_owner",
    "remove_business_owner",
];

/// Where the id in an answer can be used next, as OpenAPI links on the 200 answer: (from
/// operation, link name, to operation, the body field that takes the id). Stateful tests
/// (schemathesis) follow them, e.g. create a user, then block and unblock that user.
pub(crate) const LINKS: [(&str, &str, &str, &str); 24] = [
    ("create_user", "GetUser", "get_user", "user_id"),
    ("create_user", "UpdateUser", "update_user", "user_id"),
    ("create_user", "BlockUser", "block_user", "user_id"),
    (
        "create_user",
        "SendVerificationRequest",
        "send_verification_request",
        "user_id",
    ),
    ("update_user", "GetUser", "get_user", "user_id"),
    ("block_user", "UnblockUser", "unblock_user", "user_id"),
    ("unblock_user", "BlockUser", "block_user", "user_id"),
    (
        "send_verification_request",
        "GetUser",
        "get_user",
        "user_id",
    ),
    (
        "create_business",
        "GetBusiness",
        "get_business",
        "business_id",
    ),
    (
        "create_business",
        "ListBusinessContacts",
        "list_business_contacts",
        "business_id",
    ),
    (
        "create_business",
        "CreateUser",
        "create_user",
        "business_id",
    ),
    ("create_webhook", "GetWebhook", "get_webhook", "webhook_id"),
    (
        "create_webhook",
        "UpdateWebhook",
        "update_webhook",
        "webhook_id",
    ),
    (
        "create_webhook",
        "RotateWebhookSecret",
        "rotate_webhook_secret",
        "webhook_id",
    ),
    (
        "create_webhook",
        "DeleteWebhook",
        "delete_webhook",
        "webhook_id",
    ),
    ("resend_event", "GetEvent", "get_event", "event_id"),
    ("get_event", "ResendEvent", "resend_event", "event_id"),
    (
        "create_business",
        "UpdateBusiness",
        "update_business",
        "business_id",
    ),
    (
        "create_business",
        "BlockBusiness",
        "block_business",
        "business_id",
    ),
    (
        "block_business",
        "UnblockBusiness",
        "unblock_business",
        "business_id",
    ),
    (
        "create_business",
        "SendBusinessVerificationRequest",
        "send_business_verification_request",
        "business_id",
    ),
    (
        "create_business",
        "AddBusinessOwner",
        "add_business_owner",
        "business_id",
    ),
    (
        "create_user",
        "AddBusinessOwner",
        "add_business_owner",
        "user_id",
    ),
    (
        "create_business",
        "ListBusinessOwners",
        "list_business_owners",
        "business_id",
    ),
];

/// (from, link name, to, [(body field, answer field)]).
pub(crate) type CompoundLink = (
    &'static str,
    &'static str,
    &'static str,
    [(&'static str, &'static str); 2],
);

/// Links whose body takes more than the answer's id: (from, link name, to, [(body field,
/// answer field)]). An owner is removed by its business and its own id.
pub(crate) const COMPOUND_LINKS: [CompoundLink; 1] = [(
    "add_business_owner",
    "RemoveBusinessOwner",
    "remove_business_owner",
    [("business_id", "business_id"), ("owner_id", "id")],
)];
