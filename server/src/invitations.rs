//! Invitations: who may open which territory, and how.
//!
//! An invitation grants one territory's document to whoever holds its
//! token, as an organiser (read-write) or a resident (read-only). Tokens
//! are `<id>.<secret>`: the id (64 random bits, hex) finds the row, the
//! secret (128 random bits from the OS, hex) is stored only as its SHA-256
//! and compared in constant time. Neither is ever logged; the id alone is
//! what the CLI lists and revokes.
//!
//! The tables live where the relay's documents do ([`Invitations::open_for`]):
//! in its SQLite file, next to `kv`, through their own connection; or, for
//! a cluster (`--storage postgres://…`), in the PostgreSQL database every
//! relay shares (migration 2 of `store/postgres.rs`), so that a token opens
//! `/sync` on any relay and a revocation closes connections on all. They
//! are used by the CLI (`essaim territory`, `invite`, `invites`, `revoke`,
//! with the relay's `--storage`), also while the relay runs (WAL mode in
//! SQLite), and by the relay to check a token at the websocket upgrade and
//! to find revoked or expired invitations whose connections must close.
//! Every method blocks (either database): call them off the tokio runtime.
//!
//! This module decides nothing about documents: `gate::access` turns
//! [`Grant`]s into an access decision per document.

use std::path::Path;
#[cfg(feature = "cluster")]
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};
use sync_core::DocumentId;

#[cfg(feature = "cluster")]
use crate::store::postgres::{self, pg};
use crate::store::{Storage, StoreError, open_database, sqlite};

/// What an invitation lets its holder do with its territory: the territory's
/// roles, named as in the domain model and the app. The CLI and the
/// `invitations` table spell them `organiser` and `resident` (kept: stored
/// rows and operators' scripts use them); the invitation link and the app,
/// `organisateur` and `habitant` ([`Role::mot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Reads and writes the territory.
    #[value(name = "organiser")]
    Organisateur,
    /// Reads the territory; their changes are never applied.
    #[value(name = "resident")]
    Habitant,
}

impl Role {
    /// The word of the invitation link and of the app
    /// (`#/territoire/{doc}/invitation/{mot}/{token}`).
    pub fn mot(self) -> &'static str {
        match self {
            Role::Organisateur => "organisateur",
            Role::Habitant => "habitant",
        }
    }

    /// How the CLI and the `invitations` table spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Organisateur => "organiser",
            Role::Habitant => "resident",
        }
    }

    fn parse(s: &str) -> Option<Role> {
        match s {
            "organiser" => Some(Role::Organisateur),
            "resident" => Some(Role::Habitant),
            _ => None,
        }
    }
}

/// One invitation, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Its public id (what `essaim revoke` takes).
    pub id: String,
    /// The territory's document.
    pub territory: DocumentId,
    /// What it grants.
    pub role: Role,
    /// A note for organisers ("conseil municipal").
    pub label: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// After this instant (ms) it no longer opens anything.
    pub expires_at: Option<i64>,
    /// When it was revoked (ms), if it was.
    pub revoked_at: Option<i64>,
}

/// What a connection holds once its token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The invitation's id.
    pub invitation: String,
    /// The one document it opens.
    pub territory: DocumentId,
    /// How.
    pub role: Role,
}

/// What an invitation is for, apart from its id and secret.
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    /// The territory it opens.
    pub territory: &'a DocumentId,
    /// What it grants.
    pub role: Role,
    /// A note for organisers.
    pub label: Option<&'a str>,
    /// When it stops opening anything (ms), if ever.
    pub expires_at: Option<i64>,
    /// Its creation time (ms).
    pub now: i64,
}

impl Grant {
    /// The invitation id of the grants every request gets on a
    /// demonstration territory (`gate.rs`): not a real invitation (those
    /// are 16 hex digits), so nothing counts, revokes or rate-limits by it.
    pub const DEMONSTRATION: &'static str = "demonstration";

    /// A resident's grant on a demonstration territory, held by anyone.
    pub fn demonstration(territory: DocumentId) -> Grant {
        Grant { invitation: Grant::DEMONSTRATION.to_owned(), territory, role: Role::Habitant }
    }

    /// Given to anyone for a demonstration territory, not by a token.
    pub fn is_demonstration(&self) -> bool {
        self.invitation == Grant::DEMONSTRATION
    }
}

/// Why a token opens nothing. The HTTP status is the same for all of them
/// (401); its body and `Essaim-Refusal` header say which (`gate::Refusal`),
/// so a device learns why its link stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not `<id>.<secret>`, or no such invitation, or the wrong secret.
    #[error("unknown invitation")]
    Unknown,
    /// Revoked by an organiser.
    #[error("revoked invitation")]
    Revoked,
    /// Past its expiry.
    #[error("expired invitation")]
    Expired,
}

/// Longest validity `essaim invite --expires` accepts: a century. Longer
/// is no expiry in practice (leave `--expires` out), and the bound keeps
/// `now + validity` far from overflowing.
pub const MAX_VALIDITY_DAYS: u64 = 36_500;

/// Why an `--expires` duration was refused. The CLI prints it as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    /// Not a whole number followed by `d`, `h` or `m`.
    #[error("invalid duration {0:?}: use a whole number followed by d, h or m, such as 30d, 12h or 90m")]
    Format(String),
    /// Zero.
    #[error("invalid duration {0:?}: it must be longer than zero")]
    Zero(String),
    /// More than [`MAX_VALIDITY_DAYS`] (or too large to count).
    #[error("invalid duration {0:?}: at most {MAX_VALIDITY_DAYS} days (leave out --expires for no expiry)")]
    TooLong(String),
}

/// Parses a validity such as `30d`, `12h` or `90m` into milliseconds.
/// The unit is the last character (not byte: `3é` is refused, not cut
/// inside a character), the number ASCII digits only, and the result at
/// most [`MAX_VALIDITY_DAYS`], so that adding it to a current time in
/// milliseconds cannot overflow.
pub fn parse_validity(text: &str) -> Result<i64, ValidityError> {
    let format = || ValidityError::Format(text.to_owned());
    let mut chars = text.chars();
    let unit = chars.next_back().ok_or_else(format)?;
    let number = chars.as_str();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format());
    }
    let unit_ms: u64 = match unit {
        'd' => 86_400_000,
        'h' => 3_600_000,
        'm' => 60_000,
        _ => return Err(format()),
    };
    let too_long = || ValidityError::TooLong(text.to_owned());
    // Digits only, so the one failure left is a number too large for u64.
    let n: u64 = number.parse().map_err(|_| too_long())?;
    if n == 0 {
        return Err(ValidityError::Zero(text.to_owned()));
    }
    let ms = n.checked_mul(unit_ms).ok_or_else(too_long)?;
    if ms > MAX_VALIDITY_DAYS * 86_400_000 {
        return Err(too_long());
    }
    i64::try_from(ms).map_err(|_| too_long())
}

/// The invitations and territories tables, through their own connection.
pub struct Invitations {
    conn: Conn,
}

/// Where the tables are: each method below holds its SQL for both, next
/// to each other.
enum Conn {
    /// The relay's SQLite file, on a connection of its own.
    Sqlite(Connection),
    /// The cluster's PostgreSQL database: a pooled connection per call,
    /// so that an `Invitations` holds no `postgres::Client` (which panics
    /// if used or dropped on a tokio thread) and a lost connection is
    /// replaced at the next call. Calls block: make them off the runtime.
    #[cfg(feature = "cluster")]
    Postgres(Arc<postgres::Pool>),
}

impl Invitations {
    /// Opens the tables in `data_dir`'s database, creating them if needed.
    pub fn open(data_dir: &Path) -> Result<Invitations, StoreError> {
        let conn = open_database(data_dir)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS territories (
                 id TEXT PRIMARY KEY NOT NULL,
                 created_at INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS invitations (
                 id TEXT PRIMARY KEY NOT NULL,
                 territory TEXT NOT NULL,
                 role TEXT NOT NULL,
                 secret_sha256 BLOB NOT NULL,
                 label TEXT,
                 created_at INTEGER NOT NULL,
                 expires_at INTEGER,
                 revoked_at INTEGER
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS invitations_by_territory ON invitations (territory);",
        )
        .map_err(sqlite("preparing the invitations tables"))?;
        add_demonstration_column(&conn)?;
        Ok(Invitations { conn: Conn::Sqlite(conn) })
    }

    /// The tables where `storage` keeps documents: SQLite's file in its
    /// data directory, or the cluster's PostgreSQL database (whose
    /// migrations, run when it was opened, made them).
    pub fn open_for(storage: &Storage) -> Result<Invitations, StoreError> {
        match storage {
            Storage::Sqlite(data_dir) => Invitations::open(data_dir),
            #[cfg(feature = "cluster")]
            Storage::Postgres(pool) => Ok(Invitations { conn: Conn::Postgres(pool.clone()) }),
        }
    }

    /// Records a demonstration territory (`essaim demo`): anyone may read
    /// it, token or not (`gate.rs`).
    pub fn add_demonstration(&self, territory: &DocumentId, now: i64) -> Result<(), StoreError> {
        let id = territory.to_string();
        let action = "recording a demonstration territory";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .execute(
                    "INSERT INTO territories (id, created_at, demonstration) VALUES (?1, ?2, 1)
                     ON CONFLICT (id) DO UPDATE SET demonstration = 1",
                    params![id, now],
                )
                .map(drop)
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .execute(
                    "INSERT INTO territories (id, created_at, demonstration) VALUES ($1, $2, true)
                     ON CONFLICT (id) DO UPDATE SET demonstration = true",
                    &[&id, &now],
                )
                .map(drop)
                .map_err(pg(action)),
        }
    }

    /// Records a territory created on this relay (listed by national feeds
    /// when its profile is public).
    pub fn add_territory(&self, territory: &DocumentId, now: i64) -> Result<(), StoreError> {
        let id = territory.to_string();
        let action = "recording a territory";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .execute("INSERT OR IGNORE INTO territories (id, created_at) VALUES (?1, ?2)", params![id, now])
                .map(drop)
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .execute(
                    "INSERT INTO territories (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&id, &now],
                )
                .map(drop)
                .map_err(pg(action)),
        }
    }

    /// The territories created on this relay, oldest first.
    pub fn territories(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.territory_ids(
            "SELECT id FROM territories ORDER BY created_at, id",
            "SELECT id FROM territories ORDER BY created_at, id",
        )
    }

    /// The demonstration territories of this relay, oldest first.
    pub fn demonstrations(&self) -> Result<Vec<DocumentId>, StoreError> {
        self.territory_ids(
            "SELECT id FROM territories WHERE demonstration = 1 ORDER BY created_at, id",
            "SELECT id FROM territories WHERE demonstration ORDER BY created_at, id",
        )
    }

    /// The ids a query selects from the territories table, written for
    /// SQLite then for PostgreSQL.
    #[cfg_attr(not(feature = "cluster"), expect(unused_variables, reason = "PostgreSQL's query is for cluster builds"))]
    fn territory_ids(&self, sqlite_query: &'static str, pg_query: &'static str) -> Result<Vec<DocumentId>, StoreError> {
        let action = "listing territories";
        let ids: Vec<String> = match &self.conn {
            Conn::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sqlite_query).map_err(sqlite(action))?;
                stmt.query_map([], |row| row.get(0))
                    .map_err(sqlite(action))?
                    .collect::<Result<_, _>>()
                    .map_err(sqlite(action))?
            }
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => {
                pool.client()?.query(pg_query, &[]).map_err(pg(action))?.iter().map(|row| row.get(0)).collect()
            }
        };
        Ok(ids.iter().filter_map(|id| id.parse().ok()).collect())
    }

    /// Creates an invitation; returns it and its token (shown once, never
    /// stored). `random` is 24 bytes from the OS.
    pub fn create(
        &self,
        territory: &DocumentId,
        role: Role,
        label: Option<&str>,
        expires_at: Option<i64>,
        now: i64,
        random: [u8; 24],
    ) -> Result<(Invitation, String), StoreError> {
        let secret = hex(&random[8..]);
        let mut id = [0; 8];
        id.copy_from_slice(&random[..8]);
        let new = NewInvitation { territory, role, label, expires_at, now };
        let invitation = self.create_from_hash(new, id, &digest(&secret))?;
        let token = format!("{}.{secret}", invitation.id);
        Ok((invitation, token))
    }

    /// Creates an invitation whose secret only its holder knows: the relay
    /// gets `secret_sha256`, the SHA-256 of the secret's text (a device
    /// making its own organiser token when it creates a territory, see
    /// `territoires.rs`). The token is `<id>.<secret>` as for any other.
    /// `id` is 8 random bytes from the OS.
    pub fn create_from_hash(
        &self,
        new: NewInvitation<'_>,
        id: [u8; 8],
        secret_sha256: &[u8],
    ) -> Result<Invitation, StoreError> {
        let id = hex(&id);
        let NewInvitation { territory, role, label, expires_at, now } = new;
        let (doc, role_text) = (territory.to_string(), role.as_str());
        let action = "creating an invitation";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .execute(
                    "INSERT INTO invitations (id, territory, role, secret_sha256, label, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, doc, role_text, secret_sha256, label, now, expires_at],
                )
                .map(drop)
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .execute(
                    "INSERT INTO invitations (id, territory, role, secret_sha256, label, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    &[&id, &doc, &role_text, &secret_sha256, &label, &now, &expires_at],
                )
                .map(drop)
                .map_err(pg(action)),
        }?;
        Ok(Invitation {
            id,
            territory: territory.clone(),
            role,
            label: label.map(str::to_owned),
            created_at: now,
            expires_at,
            revoked_at: None,
        })
    }

    /// The id of `territory`'s invitation whose secret hashes to
    /// `secret_sha256`, if any: a creation replayed finds what it made.
    pub fn find_by_hash(&self, territory: &DocumentId, secret_sha256: &[u8]) -> Result<Option<String>, StoreError> {
        let doc = territory.to_string();
        let action = "finding an invitation";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .query_row(
                    "SELECT id FROM invitations WHERE territory = ?1 AND secret_sha256 = ?2",
                    params![doc, secret_sha256],
                    |row| row.get(0),
                )
                .optional()
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => Ok(pool
                .client()?
                .query_opt(
                    "SELECT id FROM invitations WHERE territory = $1 AND secret_sha256 = $2",
                    &[&doc, &secret_sha256],
                )
                .map_err(pg(action))?
                .map(|row| row.get(0))),
        }
    }

    /// The invitations of a territory, oldest first.
    pub fn list(&self, territory: &DocumentId) -> Result<Vec<Invitation>, StoreError> {
        let doc = territory.to_string();
        let action = "listing invitations";
        let rows: Vec<Row> = match &self.conn {
            Conn::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, territory, role, label, created_at, expires_at, revoked_at FROM invitations
                         WHERE territory = ?1 ORDER BY created_at, id",
                    )
                    .map_err(sqlite(action))?;
                stmt.query_map(params![doc], |row| {
                    Ok(Row {
                        id: row.get(0)?,
                        territory: row.get(1)?,
                        role: row.get(2)?,
                        label: row.get(3)?,
                        created_at: row.get(4)?,
                        expires_at: row.get(5)?,
                        revoked_at: row.get(6)?,
                    })
                })
                .map_err(sqlite(action))?
                .collect::<Result<_, _>>()
                .map_err(sqlite(action))?
            }
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .query(
                    "SELECT id, territory, role, label, created_at, expires_at, revoked_at FROM invitations
                     WHERE territory = $1 ORDER BY created_at, id",
                    &[&doc],
                )
                .map_err(pg(action))?
                .iter()
                .map(|row| Row {
                    id: row.get(0),
                    territory: row.get(1),
                    role: row.get(2),
                    label: row.get(3),
                    created_at: row.get(4),
                    expires_at: row.get(5),
                    revoked_at: row.get(6),
                })
                .collect(),
        };
        Ok(rows.into_iter().filter_map(Row::invitation).collect())
    }

    /// Revokes an invitation; false if there is no such id.
    pub fn revoke(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let action = "revoking an invitation";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .execute("UPDATE invitations SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1", params![id, now])
                .map(|changed| changed > 0)
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .execute("UPDATE invitations SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1", &[&id, &now])
                .map(|changed| changed > 0)
                .map_err(pg(action)),
        }
    }

    /// Revokes an invitation of `territory` only; false if that territory
    /// has no invitation `id` (the HTTP API answers another territory's
    /// invitation like a missing one).
    pub fn revoke_of(&self, territory: &DocumentId, id: &str, now: i64) -> Result<bool, StoreError> {
        let doc = territory.to_string();
        let action = "revoking an invitation";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .execute(
                    "UPDATE invitations SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND territory = ?2",
                    params![id, doc, now],
                )
                .map(|changed| changed > 0)
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .execute(
                    "UPDATE invitations SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND territory = $2",
                    &[&id, &doc, &now],
                )
                .map(|changed| changed > 0)
                .map_err(pg(action)),
        }
    }

    /// How many invitations of `territory` are valid at `now`, and how many
    /// were created since `since` (the HTTP API's limits).
    pub fn counts(&self, territory: &DocumentId, now: i64, since: i64) -> Result<(u64, u64), StoreError> {
        let doc = territory.to_string();
        let action = "counting invitations";
        match &self.conn {
            Conn::Sqlite(conn) => conn
                .query_row(
                    "SELECT
                         COUNT(*) FILTER (WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)),
                         COUNT(*) FILTER (WHERE created_at > ?3)
                     FROM invitations WHERE territory = ?1",
                    params![doc, now, since],
                    |row| Ok((row.get::<_, u64>(0)?, row.get::<_, u64>(1)?)),
                )
                .map_err(sqlite(action)),
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => {
                let row = pool
                    .client()?
                    .query_one(
                        "SELECT
                             COUNT(*) FILTER (WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)),
                             COUNT(*) FILTER (WHERE created_at > $3)
                         FROM invitations WHERE territory = $1",
                        &[&doc, &now, &since],
                    )
                    .map_err(pg(action))?;
                Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
            }
        }
    }

    /// What a token grants at `now`.
    pub fn check(&self, token: &str, now: i64) -> Result<Result<Grant, TokenError>, StoreError> {
        let Some((id, secret)) = token.split_once('.') else { return Ok(Err(TokenError::Unknown)) };
        let valid_hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_hex(id, 16) || !valid_hex(secret, 32) {
            return Ok(Err(TokenError::Unknown));
        }
        type Found = (Vec<u8>, String, String, Option<i64>, Option<i64>);
        let action = "checking a token";
        let row: Option<Found> = match &self.conn {
            Conn::Sqlite(conn) => conn
                .query_row(
                    "SELECT secret_sha256, territory, role, expires_at, revoked_at FROM invitations WHERE id = ?1",
                    params![id],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)),
                )
                .optional()
                .map_err(sqlite(action))?,
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => pool
                .client()?
                .query_opt(
                    "SELECT secret_sha256, territory, role, expires_at, revoked_at FROM invitations WHERE id = $1",
                    &[&id],
                )
                .map_err(pg(action))?
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))),
        };
        let Some((stored, territory, role, expires_at, revoked_at)) = row else {
            return Ok(Err(TokenError::Unknown));
        };
        if !constant_time_eq(&stored, &digest(secret)) {
            return Ok(Err(TokenError::Unknown));
        }
        let (Ok(territory), Some(role)) = (territory.parse::<DocumentId>(), Role::parse(&role)) else {
            return Ok(Err(TokenError::Unknown));
        };
        if revoked_at.is_some() {
            return Ok(Err(TokenError::Revoked));
        }
        if expires_at.is_some_and(|t| t <= now) {
            return Ok(Err(TokenError::Expired));
        }
        Ok(Ok(Grant { invitation: id.to_owned(), territory, role }))
    }

    /// Ids of the invitations revoked or expired at `now`: their live
    /// connections must close.
    pub fn no_longer_valid(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let action = "listing revoked invitations";
        match &self.conn {
            Conn::Sqlite(conn) => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id FROM invitations
                         WHERE revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= ?1)",
                    )
                    .map_err(sqlite(action))?;
                stmt.query_map(params![now], |row| row.get(0))
                    .map_err(sqlite(action))?
                    .collect::<Result<_, _>>()
                    .map_err(sqlite(action))
            }
            #[cfg(feature = "cluster")]
            Conn::Postgres(pool) => Ok(pool
                .client()?
                .query(
                    "SELECT id FROM invitations
                     WHERE revoked_at IS NOT NULL OR (expires_at IS NOT NULL AND expires_at <= $1)",
                    &[&now],
                )
                .map_err(pg(action))?
                .iter()
                .map(|row| row.get(0))
                .collect()),
        }
    }
}

/// An `invitations` row as either database gives it.
struct Row {
    id: String,
    territory: String,
    role: String,
    label: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl Row {
    /// The invitation, unless its territory or role is not one this
    /// version knows.
    fn invitation(self) -> Option<Invitation> {
        let (Ok(territory), Some(role)) = (self.territory.parse(), Role::parse(&self.role)) else { return None };
        Some(Invitation {
            id: self.id,
            territory,
            role,
            label: self.label,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// The `demonstration` column (issue 14), added to a database made before
/// it: existing territories are not demonstrations. Safe to run from two
/// processes at once (the relay and the CLI): a column another one just
/// added is not an error.
fn add_demonstration_column(conn: &Connection) -> Result<(), StoreError> {
    let has = |conn: &Connection| -> Result<bool, StoreError> {
        let mut stmt =
            conn.prepare("PRAGMA table_info(territories)").map_err(sqlite("reading the territories table"))?;
        let names = stmt
            .query_map([], |row| row.get::<_, String>(1))
            .map_err(sqlite("reading the territories table"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sqlite("reading the territories table"))?;
        Ok(names.iter().any(|n| n == "demonstration"))
    };
    if has(conn)? {
        return Ok(());
    }
    let added = conn.execute_batch("ALTER TABLE territories ADD COLUMN demonstration INTEGER NOT NULL DEFAULT 0");
    match added {
        Ok(()) => Ok(()),
        Err(_) if has(conn)? => Ok(()),
        Err(error) => Err(sqlite("adding the demonstration column")(error)),
    }
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Equal lengths and bytes, in a time that does not depend on where they
/// differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    // Tokens opening, expiring, revoked and malformed are checked on both
    // databases by `tests/it/cluster_invitations.rs`.
    use super::*;
    use crate::store::{DATABASE_FILE, open_database};

    fn doc(n: u8) -> DocumentId {
        DocumentId::from_bytes(&[n; 16]).expect("valid id")
    }

    #[test]
    fn r12_21_validity_is_parsed_by_characters_and_bounded() {
        assert_eq!(parse_validity("30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_validity("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_validity("90m"), Ok(90 * 60_000));
        assert_eq!(parse_validity("36500d"), Ok(36_500 * 86_400_000));
        for bad in ["3é", "é", "éd", "", "d", "3", "-3d", "+3d", "3 d", "3.5d", "3D", "٣d", "3dd", "3\u{301}"] {
            assert_eq!(parse_validity(bad), Err(ValidityError::Format(bad.to_owned())), "{bad:?}");
        }
        assert_eq!(parse_validity("0d"), Err(ValidityError::Zero("0d".to_owned())));
        for long in ["36501d", "999999999999999d", "99999999999999999999999999d", "18446744073709551615m"] {
            assert_eq!(parse_validity(long), Err(ValidityError::TooLong(long.to_owned())), "{long:?}");
        }
    }

    #[test]
    fn a_database_from_before_demonstrations_gains_the_column() {
        let dir = tempfile::tempdir().expect("temp dir");
        let old = open_database(dir.path()).expect("open");
        old.execute_batch(
            "CREATE TABLE territories (id TEXT PRIMARY KEY NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .expect("old table");
        old.execute("INSERT INTO territories (id, created_at) VALUES (?1, 1)", params![doc(1).to_string()])
            .expect("old row");
        let inv = Invitations::open(dir.path()).expect("migrated");
        assert_eq!(inv.territories().expect("list"), vec![doc(1)]);
        assert_eq!(inv.demonstrations().expect("list"), Vec::<DocumentId>::new());
        inv.add_demonstration(&doc(2), 2).expect("add");
        assert_eq!(inv.territories().expect("list"), vec![doc(1), doc(2)]);
        assert_eq!(inv.demonstrations().expect("list"), vec![doc(2)]);
        // Opening again (another process, say) finds the column there.
        drop(inv);
        assert_eq!(Invitations::open(dir.path()).expect("reopen").demonstrations().expect("list"), vec![doc(2)]);
    }

    #[test]
    fn only_hashes_are_stored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let inv = Invitations::open(dir.path()).expect("open");
        let (_, token) = inv.create(&doc(1), Role::Organisateur, None, None, 10, [9; 24]).expect("create");
        let secret = token.split_once('.').expect("two parts").1;
        drop(inv);
        let bytes = std::fs::read(dir.path().join(DATABASE_FILE)).expect("db file");
        let wal = std::fs::read(dir.path().join(format!("{DATABASE_FILE}-wal"))).unwrap_or_default();
        for file in [bytes, wal] {
            assert!(!file.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is stored in clear");
        }
    }
}
