-- pgbench script: the SQL of one contact create, and nothing else (the "create SQL alone" ceiling figure of
-- bench/run.py; see bench/README.md). One transaction = what POST /v1/contacts sends to PostgreSQL for a
-- contact with a name, one email and one phone in a workspace that refuses duplicates:
-- services/contacts/crm_contacts/contacts/service.py create_record() ->
--   1. _create_context(): workspace, acting member, default type and its first stage, source, custom fields?
--   2. duplicates.lock_values(): the advisory locks of the email and the phone (sorted), in one statement
--   3-5. _write_new(): INSERT contacts, contact_emails, contact_phones (prebuilt Core inserts)
--   6-7. _emit_created(): UnitOfWork.emit() (the outbox row) and history.record()
--      (2-7 are sent in one pipeline by the service: UnitOfWork.pipeline())
--   8. duplicates.find_duplicate(): the email/phone lookup, one UNION ALL, leaving the new contact out
-- between BEGIN and COMMIT. Captured with `SHOW=1 .venv/bin/python bench/inprocess.py` (27 Nov, after the
-- pipeline change; first written from commit 47abc4b,
-- the statements as SQLAlchemy renders them, `%(x)s::TYPE` parameters included) and copied here with the
-- same tables, columns, joins, casts and order. When the create path changes, capture again and update.
--
-- Differences, all deliberate:
-- * Values the service computes in Python are pgbench variables or expressions of them. Per transaction:
--   a random contact number :n (name "Bench Contact <n>", email bench.<n>@example.com), a random phone
--   :p ("+34<p>", 15 characters), so the duplicate lookup finds nothing; two random advisory lock keys,
--   locked in ascending order like the service's sorted keys; and five row ids shaped like the service's
--   UUIDv7 (36 characters, the millisecond of the transaction's now() first, then a random part), so the
--   primary-key indexes see time-ordered keys as they do in the service (random ones cost 7-8% more here).
-- * Constants of the workspace come from `pgbench -D`: workspace_id, type_id, stage_id, source_id (of the
--   workspace `crm workspace create` made in the bench's database) and body (the outbox row's payload,
--   bytea in hex, the size of a contacts.contact.created event). Constant strings the service sends as
--   parameters (type key, source key, status, event type, history kind) are literals here, and the actor is
--   "bench", the user of the HTTP figure's token (not a member, like there). Timestamps are now().
-- * \startpipeline / \endpipeline send the whole transaction in one round trip (pgbench -M prepared or
--   extended). bench/run.py also runs this script without those two lines: one round trip per statement,
--   as the service sent it before 27 Nov. Pipelining is an upper bound for the service, whose statements depend on the
--   answers of the previous ones (the context query's answer fills the inserts; the lookup decides whether
--   to commit): the service sends five round trips (BEGIN, the context query, the pipeline, the lookup,
--   COMMIT).

\set n random(1, 999999999999999)
\set p random(600000000000, 699999999999)
\set ka random(-4000000000000000000, 4000000000000000000)
\set kb random(-4000000000000000000, 4000000000000000000)
\set k1 least(:ka, :kb)
\set k2 greatest(:ka, :kb)
\set r1 random(1, 4000000000000000000)
\set r2 random(1, 4000000000000000000)
\set r3 random(1, 4000000000000000000)
\set r4 random(1, 4000000000000000000)
\set r5 random(1, 4000000000000000000)

\startpipeline
BEGIN;

SELECT workspaces.id, workspaces.name, workspaces.default_region, workspaces.allow_duplicates,
    workspaces.time_zone, workspaces.languages, workspaces.agents_see_all, workspaces.recent_colors,
    workspaces.created_at, members.id AS id_1, members.workspace_id, members.name AS name_1, members.email,
    members.role, members.signature, members.active, members.created_at AS created_at_1, members.updated_at,
    contact_types.id AS id_2, contact_types.workspace_id AS workspace_id_1, contact_types.key,
    contact_types.name AS name_2, contact_types.position, contact_types.builtin, stages.id AS id_3,
    stages.workspace_id AS workspace_id_2, stages.type_id, stages.name AS name_3, stages.position AS position_1,
    sources.id AS id_4, sources.workspace_id AS workspace_id_3, sources.key AS key_1, sources.name_es,
    sources.name_en, sources.builtin AS builtin_1, sources.icon_url, sources.icon, sources.icon_content_type,
    EXISTS (SELECT * FROM custom_fields WHERE custom_fields.workspace_id = workspaces.id) AS has_custom_fields
FROM workspaces
    LEFT OUTER JOIN members ON members.id = 'bench'::VARCHAR AND members.workspace_id = workspaces.id
    LEFT OUTER JOIN contact_types ON contact_types.workspace_id = workspaces.id
        AND contact_types.key = 'contact'::VARCHAR
    LEFT OUTER JOIN stages ON stages.id = (SELECT stages_1.id FROM stages AS stages_1
        WHERE stages_1.type_id = contact_types.id ORDER BY stages_1.position, stages_1.id LIMIT 1::INTEGER)
    LEFT OUTER JOIN sources ON sources.workspace_id = workspaces.id AND sources.key = 'manual'::VARCHAR
WHERE workspaces.id = :workspace_id::VARCHAR;

SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(ARRAY[:k1::bigint, :k2::bigint] AS bigint[])) AS k;

INSERT INTO contacts (id, workspace_id, name, name_key, email, phone, type_id, stage_id, status, stars,
    source_id, location, messengers, custom_fields, blocked, created_by, version, created_at, updated_at)
VALUES (
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR,
    :workspace_id::VARCHAR, ('Bench Contact ' || :n)::VARCHAR, ('bench contact ' || :n)::VARCHAR,
    ('bench.' || :n || '@example.com')::VARCHAR, ('+34' || :p)::VARCHAR, :type_id::VARCHAR, :stage_id::VARCHAR,
    'active'::VARCHAR, 0::INTEGER, :source_id::VARCHAR, '{}'::JSON, '{}'::JSON, '{}'::JSON, false,
    'bench'::VARCHAR, 1::INTEGER, now()::TIMESTAMP WITH TIME ZONE, now()::TIMESTAMP WITH TIME ZONE);

INSERT INTO contact_emails (id, workspace_id, contact_id, address, is_primary, position, status)
VALUES (
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r2::bigint), 22, '0'))::VARCHAR,
    :workspace_id::VARCHAR,
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR,
    ('bench.' || :n || '@example.com')::VARCHAR, true, 0::INTEGER, 'active'::VARCHAR);

INSERT INTO contact_phones (id, workspace_id, contact_id, number, is_primary, position)
VALUES (
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r3::bigint), 22, '0'))::VARCHAR,
    :workspace_id::VARCHAR,
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR,
    ('+34' || :p)::VARCHAR, true, 0::INTEGER);

INSERT INTO outbox (event_id, event_type, workspace_id, body, created_at, unroutable)
VALUES (
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r4::bigint), 22, '0'))::VARCHAR,
    'contacts.contact.created'::VARCHAR, :workspace_id::VARCHAR, :body, now()::TIMESTAMP WITH TIME ZONE, false);

INSERT INTO history (id, workspace_id, contact_id, kind, actor_id, data, created_at)
VALUES (
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r5::bigint), 22, '0'))::VARCHAR,
    :workspace_id::VARCHAR,
    (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR,
    'created'::VARCHAR, 'bench'::VARCHAR,
    ('{"name": "Bench Contact ' || :n || '", "source_id": "' || :source_id || '"}')::JSON,
    now()::TIMESTAMP WITH TIME ZONE);

SELECT anon_1.field, anon_1.value, anon_1.contact_id, anon_1.name, anon_1.owner_id
FROM (SELECT 0 AS rank, 'email' AS field, contact_emails.address AS value, contacts.id AS contact_id,
        contacts.name AS name, contacts.owner_id AS owner_id
    FROM contact_emails JOIN contacts ON contacts.id = contact_emails.contact_id
    WHERE contact_emails.workspace_id = :workspace_id::VARCHAR
        AND contact_emails.address IN (('bench.' || :n || '@example.com')::VARCHAR)
        AND contacts.deleted_at IS NULL
        AND contact_emails.contact_id NOT IN ((lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR)
    UNION ALL SELECT 1 AS rank, 'phone' AS field, contact_phones.number AS value, contacts.id AS contact_id,
        contacts.name AS name, contacts.owner_id AS owner_id
    FROM contact_phones JOIN contacts ON contacts.id = contact_phones.contact_id
    WHERE contact_phones.workspace_id = :workspace_id::VARCHAR
        AND contact_phones.number IN (('+34' || :p)::VARCHAR)
        AND contacts.deleted_at IS NULL
        AND contact_phones.contact_id NOT IN ((lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '-7' || lpad(to_hex(:r1::bigint), 22, '0'))::VARCHAR)) AS anon_1
ORDER BY anon_1.rank, anon_1.contact_id
LIMIT 1::INTEGER;

COMMIT;
\endpipeline
