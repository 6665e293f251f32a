//! The store's error type and result.

/// A storage error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint was violated (a duplicate slug, email, membership, …).
    #[error("already exists")]
    Conflict,
    /// The URL names no supported backend.
    #[error("unsupported database URL `{0}`: it must start with `sqlite:` or `postgres://`")]
    UnsupportedUrl(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A fault injected by a test
    /// ([`Store::inject_audit_failure`](crate::Store::inject_audit_failure); feature
    /// `test-util`).
    #[cfg(feature = "test-util")]
    #[error("injected failure")]
    Injected,
    /// The database cannot take the operation now: it is full, an I/O error, its write
    /// lock stayed busy past the timeout, a deadlock or serialization failure, or it is
    /// unreachable (connection refused, pool acquire timeout). Nothing was written; the
    /// operation may be retried later (the API answers 503 with `Retry-After`).
    #[error("storage unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// The database could not be reached when opening the store: the address (host, port,
    /// database; never the password) and the cause.
    #[error("cannot connect to {address}: {cause}")]
    Connect {
        /// `host:port/database`.
        address: String,
        /// What went wrong (connection refused, authentication failed, …).
        cause: String,
    },
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A granular edit named ids that are not in the organization (sorted).
    #[error("not in the organization: {what:?} {ids:?}")]
    NotInOrganization {
        /// What the ids are.
        what: Unknown,
        /// The offending ids (or team slugs), sorted.
        ids: Vec<String>,
    },
    /// A world document to import is invalid: every problem, as `path: message`
    /// (`members[3].role: unknown org role `boss``).
    #[error("invalid world document:\n{}", .0.join("\n"))]
    InvalidWorld(Vec<String>),
    /// [`Store::import_world`](crate::Store::import_world) needs a store without users,
    /// organizations and integrations.
    #[error(
        "the store is not empty ({users} user(s), {organizations} organization(s), \
         {integrations} integration(s)): a world is imported into an empty store only"
    )]
    NotEmpty {
        /// Stored users.
        users: i64,
        /// Stored organizations.
        organizations: i64,
        /// Stored integrations.
        integrations: i64,
    },
}

/// What a [`StoreError::NotInOrganization`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unknown {
    /// User ids (`replayAccessMembers`).
    Users,
    /// Member ids (`replayAccessMemberIds`, `members`).
    Members,
    /// Team slugs (`teams`).
    Teams,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(ref d) if d.is_unique_violation() => StoreError::Conflict,
            // A row this write refers to was deleted meanwhile (a concurrent deletion of the
            // organization, team, member, project or user): the write is refused whole.
            sqlx::Error::Database(ref d) if d.is_foreign_key_violation() => StoreError::NotFound,
            ref other if is_unavailable(other) => StoreError::Unavailable(e),
            other => StoreError::Database(other),
        }
    }
}

impl StoreError {
    /// Whether the error says the storage cannot serve now (retry later) rather than that
    /// the request or the data is wrong.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Connect { .. }
        )
    }
}

/// Whether `e` is a condition of the storage, not of the request: see
/// [`StoreError::Unavailable`].
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLite's result codes, extended ones included (the primary code is the
                // low byte): BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN,
                // PROTOCOL.
                code.parse::<u32>()
                    .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 7 | 8 | 10 | 11 | 13 | 14 | 15))
            } else {
                // PostgreSQL's SQLSTATE: serialization failure, deadlock, lock timeout, connection
                // exceptions, insufficient resources (disk full, out of memory, too many
                // connections), operator intervention (shutdown, cannot connect now),
                // system errors.
                matches!(code.as_ref(), "40001" | "40P01" | "55P03")
                    || ["08", "53", "57", "58"]
                        .iter()
                        .any(|class| code.starts_with(class))
            }
        }
        _ => false,
    }
}

/// The result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
