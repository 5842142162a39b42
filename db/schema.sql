-- qaterm session store, schema version 1.
-- Applied once to an empty database by db/store_open.c, which then sets
-- PRAGMA user_version = 1. Later changes go into new migration steps
-- (see the table in db/store_open.c); never edit this file in place once
-- released, because existing databases would not see the change.
--
-- Times are ISO 8601 UTC text with milliseconds ("2026-11-26T14:03:07.123Z").
-- EM is 0/1 and F1 is a fraction in [0, 1]; NULL means "not scored" (a
-- question typed in without gold answers).

-- One run of the TUI (or of a test writer). pid, pid_start and host say
-- which process owns an open session, so that a session left open by a
-- crash can be closed at the next start.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    end_reason  TEXT CHECK (end_reason IN ('exit', 'crash')),
    host        TEXT NOT NULL,
    user        TEXT NOT NULL,
    mode        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    pid_start   INTEGER            -- process start time (clock ticks after boot), tells reused pids apart
);

-- Passages, deduplicated by the SHA-256 of their text.
CREATE TABLE passages (
    id              INTEGER PRIMARY KEY,
    source          TEXT,          -- file it came from; NULL when typed in
    title           TEXT,          -- article title
    paragraph_index INTEGER,       -- paragraph number within the article
    text_sha256     TEXT NOT NULL UNIQUE,
    text            TEXT NOT NULL
);

-- Models and the human quiz-taker (architecture 'human'), deduplicated by
-- name, variant and checkpoint digest ('' when there is none).
CREATE TABLE models (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL,
    architecture      TEXT NOT NULL,
    variant           TEXT NOT NULL DEFAULT '',
    checkpoint_path   TEXT,
    checkpoint_sha256 TEXT NOT NULL DEFAULT '',
    parameter_count   INTEGER,
    bytes_on_disk     INTEGER,
    UNIQUE (name, variant, checkpoint_sha256)
);

-- Questions, each written together with all of its answers in one
-- transaction. external_id is the SQuAD question id when there is one.
CREATE TABLE questions (
    id            INTEGER PRIMARY KEY,
    session_id    INTEGER NOT NULL REFERENCES sessions (id),
    passage_id    INTEGER NOT NULL REFERENCES passages (id),
    external_id   TEXT,
    text          TEXT NOT NULL,
    gold_answers  TEXT NOT NULL DEFAULT '[]',  -- JSON array of {"text", "answer_start"}
    is_impossible INTEGER NOT NULL DEFAULT 0 CHECK (is_impossible IN (0, 1)),
    asked_at      TEXT NOT NULL
);
CREATE INDEX questions_by_session ON questions (session_id);
CREATE INDEX questions_by_external_id ON questions (external_id);

-- One model's answer to one question. text '' means "no answer"; the span
-- is in characters (code points) of the passage text, end exclusive.
CREATE TABLE answers (
    id             INTEGER PRIMARY KEY,
    question_id    INTEGER NOT NULL REFERENCES questions (id),
    model_id       INTEGER NOT NULL REFERENCES models (id),
    text           TEXT NOT NULL,
    char_start     INTEGER,
    char_end       INTEGER,
    score          REAL,
    no_answer_prob REAL,
    latency_ms     REAL,
    em             INTEGER CHECK (em IN (0, 1)),
    f1             REAL CHECK (f1 BETWEEN 0 AND 1),
    UNIQUE (question_id, model_id)
);
CREATE INDEX answers_by_model ON answers (model_id);
