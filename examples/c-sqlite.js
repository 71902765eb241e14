// ffi/c: SQLite (libsqlite3) from its own declarations, as sqlite3.h has
// them: an in-memory database, a table filled through a prepared statement
// with bound parameters, sqlite3_exec calling a JavaScript function for each
// row, then a query read column by column.
const ffi = require('ffi/c')

ffi.cdef(`
  typedef struct sqlite3 sqlite3;
  typedef struct sqlite3_stmt sqlite3_stmt;
  typedef int (*sqlite3_callback)(void *, int, char **, char **);
  typedef void (*sqlite3_destructor_type)(void *);
  enum { SQLITE_OK = 0, SQLITE_ROW = 100, SQLITE_DONE = 101 };

  int sqlite3_open(const char *filename, sqlite3 **ppDb);
  int sqlite3_close(sqlite3 *db);
  const char *sqlite3_errmsg(sqlite3 *db);
  int sqlite3_exec(sqlite3 *db, const char *sql, sqlite3_callback callback,
                   void *arg, char **errmsg);
  void sqlite3_free(void *p);
  int sqlite3_prepare_v2(sqlite3 *db, const char *zSql, int nByte,
                         sqlite3_stmt **ppStmt, const char **pzTail);
  int sqlite3_bind_int(sqlite3_stmt *stmt, int i, int value);
  int sqlite3_bind_text(sqlite3_stmt *stmt, int i, const char *value, int n,
                        void (*destructor)(void *));
  int sqlite3_step(sqlite3_stmt *stmt);
  int sqlite3_reset(sqlite3_stmt *stmt);
  int sqlite3_column_int(sqlite3_stmt *stmt, int iCol);
  const unsigned char *sqlite3_column_text(sqlite3_stmt *stmt, int iCol);
  int sqlite3_finalize(sqlite3_stmt *stmt);
`)
// libsqlite3.so (or libsqlite3.so.0 where only the runtime package is
// installed), libsqlite3.dylib, sqlite3.dll
const sqlite = ffi.load('sqlite3')
const { SQLITE_OK, SQLITE_ROW, SQLITE_DONE } = sqlite

// #define SQLITE_TRANSIENT ((sqlite3_destructor_type)-1): SQLite copies the text.
const SQLITE_TRANSIENT = ffi.cast('sqlite3_destructor_type', -1)

function check(rc, db, what) {
  if (rc !== SQLITE_OK) throw new Error(`${what}: ${ffi.string(sqlite.sqlite3_errmsg(db))}`)
}

// sqlite3 **ppDb: a one-element array of pointers that C fills in.
const pdb = ffi.new('sqlite3 *[1]')
check(sqlite.sqlite3_open(':memory:', pdb), pdb[0], 'open')
const db = pdb[0]

function exec(sql, callback = null) {
  const errmsg = ffi.new('char *[1]')
  const rc = sqlite.sqlite3_exec(db, sql, callback, null, errmsg)
  if (rc !== SQLITE_OK) {
    const message = ffi.string(errmsg[0])
    sqlite.sqlite3_free(errmsg[0])
    return `error ${rc}: ${message}`
  }
  return 'ok'
}

console.log('create:', exec('CREATE TABLE fruit (id INTEGER PRIMARY KEY, name TEXT NOT NULL, stock INTEGER)'))

// A prepared statement, reset and bound again for each row.
const pstmt = ffi.new('sqlite3_stmt *[1]')
check(sqlite.sqlite3_prepare_v2(db, 'INSERT INTO fruit VALUES (?, ?, ?)', -1, pstmt, null), db, 'prepare')
const insert = pstmt[0]
const rows = [[1, 'apple', 12], [2, 'banana', 0], [3, 'crème brûlée', 7], [4, 'durian', 3]]
for (const [id, name, stock] of rows) {
  sqlite.sqlite3_bind_int(insert, 1, id)
  sqlite.sqlite3_bind_text(insert, 2, name, -1, SQLITE_TRANSIENT) // a UTF-8 copy for the call; SQLite copies it
  sqlite.sqlite3_bind_int(insert, 3, stock)
  if (sqlite.sqlite3_step(insert) !== SQLITE_DONE) check(-1, db, 'insert')
  sqlite.sqlite3_reset(insert)
}
sqlite.sqlite3_finalize(insert)
console.log('inserted:', rows.length)

// sqlite3_exec calls back for each row: argv and columns are char *[argc]
// (as char ** pointers), a NULL value is null.
const onRow = ffi.cast('sqlite3_callback', (arg, argc, argv, columns) => {
  const fields = []
  for (let i = 0; i < argc; i++) {
    const value = argv.get(i)
    fields.push(`${ffi.string(columns.get(i))}=${value === null ? 'NULL' : ffi.string(value)}`)
  }
  console.log('row:', fields.join(' '))
  return 0 // non-zero would abort the query
})
console.log('select:', exec('SELECT id, name, nullif(stock, 0) AS stock FROM fruit ORDER BY id', onRow))
console.log('bad sql:', exec('SELEC 1', onRow))
onRow.free()

// A query read column by column: sqlite3_step until SQLITE_DONE.
check(sqlite.sqlite3_prepare_v2(db, 'SELECT id, name, length(name) FROM fruit WHERE stock > ? ORDER BY stock DESC', -1, pstmt, null), db, 'prepare')
const query = pstmt[0]
sqlite.sqlite3_bind_int(query, 1, 2)
let rc
while ((rc = sqlite.sqlite3_step(query)) === SQLITE_ROW) {
  const id = sqlite.sqlite3_column_int(query, 0)
  const name = ffi.string(sqlite.sqlite3_column_text(query, 1)) // const unsigned char *: UTF-8
  const length = sqlite.sqlite3_column_int(query, 2)
  console.log(`in stock: ${id} ${name} (${length} characters)`)
}
console.log('step done:', rc === SQLITE_DONE)
sqlite.sqlite3_finalize(query)
console.log('close:', sqlite.sqlite3_close(db) === SQLITE_OK)
