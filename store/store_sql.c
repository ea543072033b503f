/*
 * store_sql: every line of SQL in cricket. The schema's history (the
 * migrations) comes first, then each statement the store prepares at open.
 *
 * Tables are STRICT (SQLite >= 3.37): a column holds only its declared type,
 * so a binding mistake fails loudly instead of storing text in an integer
 * column. Ids and names are compared bytewise (BINARY collation), which the
 * id-prefix range scans rely on.
 *
 * Changing the schema: append a step to ck_store_migrations with the next
 * version number; never edit a step that has shipped. A step may only add
 * (tables, columns with defaults, indexes) or rewrite rows; the statements
 * below must then work on the new schema.
 */
#include "store/store_internal.h"

/* ---- schema history --------------------------------------------------- */

static const char schema_v1[] =
    /* Unique names (pod and container names as the kubelet builds them) and
     * the id of the object that holds each. */
    "CREATE TABLE names (\n"
    "    name     TEXT NOT NULL PRIMARY KEY,\n"
    "    owner_id TEXT NOT NULL\n"
    ") STRICT, WITHOUT ROWID;\n"

    "CREATE TABLE pods (\n"
    "    id              TEXT NOT NULL PRIMARY KEY,\n"
    "    name            TEXT NOT NULL,\n"
    "    ns              TEXT NOT NULL,\n"
    "    uid             TEXT NOT NULL,\n"
    "    attempt         INTEGER NOT NULL CHECK (attempt BETWEEN 0 AND 4294967295),\n"
    "    state           INTEGER NOT NULL,\n"
    "    created_at_ns   INTEGER NOT NULL,\n"
    "    runtime_handler TEXT,\n"
    "    data            TEXT\n"
    ") STRICT;\n"

    /* A pod row cannot go while a container row names it. No ON DELETE
     * action on purpose: the default (NO ACTION, checked at the end of each
     * statement) fails with SQLITE_CONSTRAINT_FOREIGNKEY, while RESTRICT is
     * implemented as a trigger and fails with SQLITE_CONSTRAINT_TRIGGER. */
    "CREATE TABLE containers (\n"
    "    id             TEXT NOT NULL PRIMARY KEY,\n"
    "    pod_id         TEXT NOT NULL REFERENCES pods(id),\n"
    "    name           TEXT NOT NULL,\n"
    "    attempt        INTEGER NOT NULL CHECK (attempt BETWEEN 0 AND 4294967295),\n"
    "    state          INTEGER NOT NULL,\n"
    "    created_at_ns  INTEGER NOT NULL,\n"
    "    started_at_ns  INTEGER NOT NULL DEFAULT 0,\n"
    "    finished_at_ns INTEGER NOT NULL DEFAULT 0,\n"
    "    exit_code      INTEGER NOT NULL DEFAULT 0\n"
    "                   CHECK (exit_code BETWEEN -2147483648 AND 2147483647),\n"
    "    image_ref      TEXT,\n"
    "    data           TEXT\n"
    ") STRICT;\n"
    /* Serves list_by_pod and the foreign-key check when a pod is deleted. */
    "CREATE INDEX containers_by_pod ON containers(pod_id, created_at_ns);\n"

    /* size is a uint64 stored in SQLite's int64 bit for bit. */
    "CREATE TABLE images (\n"
    "    id   TEXT NOT NULL PRIMARY KEY,\n"
    "    size INTEGER NOT NULL,\n"
    "    data TEXT\n"
    ") STRICT;\n"

    /* CASCADE: deleting an image deletes the references to it. */
    "CREATE TABLE image_refs (\n"
    "    ref      TEXT NOT NULL PRIMARY KEY,\n"
    "    image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE\n"
    ") STRICT, WITHOUT ROWID;\n"
    "CREATE INDEX image_refs_by_image ON image_refs(image_id, ref);\n";

/* What each unpacked layer (<root>/layers/<hex of chain_id>) occupies,
 * measured once when it is unpacked, so ImageFsInfo sums rows instead of
 * walking every file. Layers unpacked before this version have no row until
 * they are measured. bytes and inodes are uint64 bit for bit. */
static const char schema_v2[] = "CREATE TABLE layers (\n"
                                "    chain_id TEXT NOT NULL PRIMARY KEY,\n"
                                "    bytes    INTEGER NOT NULL,\n"
                                "    inodes   INTEGER NOT NULL\n"
                                ") STRICT, WITHOUT ROWID;\n";

const ck_store_migration ck_store_migrations[] = {
    {1, "initial schema: names, pods, containers, images, image_refs", schema_v1, NULL},
    {2, "layers: disk usage of each unpacked layer", schema_v2, NULL},
};

const size_t ck_store_migrations_len = sizeof(ck_store_migrations) / sizeof(ck_store_migrations[0]);

/* ---- statements ------------------------------------------------------- */

#define POD_COLS "id, name, ns, uid, attempt, state, created_at_ns, runtime_handler, data"
#define CTR_COLS                                                                                  \
    "id, pod_id, name, attempt, state, created_at_ns, started_at_ns, finished_at_ns, exit_code, " \
    "image_ref, data"
#define IMAGE_COLS "id, size, data"
#define LAYER_COLS "chain_id, bytes, inodes"

const char *const ck_store_sql[CK_STMT_COUNT] = {
    [CK_STMT_NAME_INSERT] = "INSERT INTO names (name, owner_id) VALUES (?1, ?2)"
                            " ON CONFLICT (name) DO NOTHING",
    [CK_STMT_NAME_OWNER] = "SELECT owner_id FROM names WHERE name = ?1",
    [CK_STMT_NAME_DELETE] = "DELETE FROM names WHERE name = ?1",

    [CK_STMT_POD_PUT] = "INSERT INTO pods (" POD_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, ns = excluded.ns,"
                        " uid = excluded.uid, attempt = excluded.attempt, state = excluded.state,"
                        " created_at_ns = excluded.created_at_ns,"
                        " runtime_handler = excluded.runtime_handler, data = excluded.data",
    [CK_STMT_POD_GET] = "SELECT " POD_COLS " FROM pods WHERE id = ?1",
    [CK_STMT_POD_SET_STATE] = "UPDATE pods SET state = ?2 WHERE id = ?1",
    [CK_STMT_POD_DELETE] = "DELETE FROM pods WHERE id = ?1",
    [CK_STMT_POD_LIST] = "SELECT " POD_COLS " FROM pods ORDER BY created_at_ns, id",
    [CK_STMT_POD_PREFIX] = "SELECT id FROM pods WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",

    [CK_STMT_CTR_PUT] = "INSERT INTO containers (" CTR_COLS ")"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                        " ON CONFLICT (id) DO UPDATE SET pod_id = excluded.pod_id,"
                        " name = excluded.name, attempt = excluded.attempt,"
                        " state = excluded.state, created_at_ns = excluded.created_at_ns,"
                        " started_at_ns = excluded.started_at_ns,"
                        " finished_at_ns = excluded.finished_at_ns,"
                        " exit_code = excluded.exit_code, image_ref = excluded.image_ref,"
                        " data = excluded.data",
    [CK_STMT_CTR_GET] = "SELECT " CTR_COLS " FROM containers WHERE id = ?1",
    /* ?3 is the CK_CONTAINER_SET_* mask. */
    [CK_STMT_CTR_SET_STATE] = "UPDATE containers SET state = ?2,"
                              " started_at_ns = CASE WHEN (?3 & 1) != 0 THEN ?4 ELSE started_at_ns END,"
                              " finished_at_ns = CASE WHEN (?3 & 2) != 0 THEN ?5 ELSE finished_at_ns END,"
                              " exit_code = CASE WHEN (?3 & 4) != 0 THEN ?6 ELSE exit_code END,"
                              " data = CASE WHEN (?3 & 8) != 0 THEN ?7 ELSE data END"
                              " WHERE id = ?1",
    [CK_STMT_CTR_DELETE] = "DELETE FROM containers WHERE id = ?1",
    [CK_STMT_CTR_LIST] = "SELECT " CTR_COLS " FROM containers ORDER BY created_at_ns, id",
    [CK_STMT_CTR_LIST_BY_POD] = "SELECT " CTR_COLS " FROM containers WHERE pod_id = ?1"
                                " ORDER BY created_at_ns, id",
    [CK_STMT_CTR_PREFIX] = "SELECT id FROM containers WHERE id >= ?1 AND id < ?2"
                           " ORDER BY id LIMIT 2",

    [CK_STMT_IMAGE_PUT] = "INSERT INTO images (" IMAGE_COLS ") VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (id) DO UPDATE SET size = excluded.size,"
                          " data = excluded.data",
    [CK_STMT_IMAGE_GET] = "SELECT " IMAGE_COLS " FROM images WHERE id = ?1",
    [CK_STMT_IMAGE_DELETE] = "DELETE FROM images WHERE id = ?1",
    [CK_STMT_IMAGE_LIST] = "SELECT " IMAGE_COLS " FROM images ORDER BY id",
    [CK_STMT_IMAGE_PREFIX] = "SELECT id FROM images WHERE id >= ?1 AND id < ?2"
                             " ORDER BY id LIMIT 2",
    [CK_STMT_REF_SET] = "INSERT INTO image_refs (ref, image_id) VALUES (?1, ?2)"
                        " ON CONFLICT (ref) DO UPDATE SET image_id = excluded.image_id",
    [CK_STMT_REF_DELETE] = "DELETE FROM image_refs WHERE ref = ?1",
    [CK_STMT_REF_RESOLVE] = "SELECT image_id FROM image_refs WHERE ref = ?1",
    [CK_STMT_REFS_OF_IMAGE] = "SELECT ref FROM image_refs WHERE image_id = ?1 ORDER BY ref",
    [CK_STMT_REF_LIST] = "SELECT ref, image_id FROM image_refs ORDER BY image_id, ref",

    [CK_STMT_LAYER_PUT] = "INSERT INTO layers (" LAYER_COLS ") VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (chain_id) DO UPDATE SET bytes = excluded.bytes, inodes = excluded.inodes",
    [CK_STMT_LAYER_DELETE] = "DELETE FROM layers WHERE chain_id = ?1",
    [CK_STMT_LAYER_LIST] = "SELECT " LAYER_COLS " FROM layers ORDER BY chain_id",
};
