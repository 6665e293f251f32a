-- scopegate's initial schema (SQLite). Migrations are append-only: never edit an applied one.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    has_2fa BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    features TEXT NOT NULL DEFAULT '[]',
    open_membership BOOLEAN NOT NULL DEFAULT TRUE,
    require_2fa BOOLEAN NOT NULL DEFAULT FALSE,
    require_sso BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    role TEXT NOT NULL,
    member_limit_restricted BOOLEAN NOT NULL DEFAULT FALSE,
    sso_linked BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, user_id),
    UNIQUE (organization_id, email)
);

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    member_id BIGINT NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    role TEXT,
    PRIMARY KEY (team_id, member_id)
);

CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE project_teams (
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, team_id)
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    organization_id BIGINT REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_prefix TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE granular_grants (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    member_id BIGINT REFERENCES members(id) ON DELETE CASCADE,
    team_id BIGINT REFERENCES teams(id) ON DELETE CASCADE,
    CHECK ((member_id IS NULL) <> (team_id IS NULL)),
    UNIQUE (organization_id, kind, member_id, team_id)
);

-- No foreign key on the organization: the log outlives what it describes.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    organization_id BIGINT,
    actor_user_id BIGINT,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    target TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (organization_id, id);
