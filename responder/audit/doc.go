// Package audit writes the responder's audit log and reads it back into a
// device inventory.
//
// Every update check the responder answers, and every update file it is
// asked for, becomes one [Record], written by a [Log] as one row of a CSV
// file; the request column says which ("check" or "download"; empty in
// files written before the column existed, which hold only checks). Administrators build their inventory of
// devices from these files, with [Inventory] and [Fleet.Summary] or with any
// tool that reads CSV.
//
// # Files
//
// A [Log] keeps one file per UTC day, named <server>-<YYYY-MM-DD>.csv, in
// one directory. The day is the day of the record's time, so a record
// stamped 23:59:59 that is written after midnight still goes to its own
// day's file. A file starts with a header row; the columns, in order, are
//
//	time, client, device_type, mac, serial, vendor, model, revision,
//	locale, request_modules, response_modules, user, outcome,
//	request, path, account, account_source, listener, cut
//
// A download row has the client, the path under files/, the outcome
// ("served", "not-found", "unauthorized", ...) and no device fields. account
// and account_source name the account whose credentials an outside request
// carried and the source that verified them (e.g. "htpasswd"); listener is
// "internal" or "external". The Reader reads files without the last six
// columns too.
//
// time is RFC 3339 in UTC with whole seconds (fractions are dropped). A
// module list is written name:version, joined by ";". Rows end in "\n" and
// are quoted by [encoding/csv] where needed. New files are created with mode
// 0640 whatever the umask, for an administrators' group to read. An existing
// file of the day is appended to, so a restart on the same day continues
// the same file. Only one [Log] at a time may write a directory's files of
// one server name: give each responder its own name.
// A day's file that reaches [Log.MaxFileSize] (256 MiB unless changed) is
// continued in <server>-<YYYY-MM-DD>.1.csv, then .2.csv and so on, each
// with its header row; once [Log.MaxFiles] (8) files of the day are full,
// that day's further records are dropped, logged at most once a minute and
// counted by [Log.Dropped], so that no flood of requests can fill the
// disk. Files are never removed by this package; past days' files are
// closed and may be archived or deleted freely.
//
// # What is written is what was sent, made safe for lines
//
// Devices send whatever they like, and a record must always be exactly one
// line and one row. So before a value is written
//
//   - every control character (U+0000 to U+001F, U+007F to U+009F: tab,
//     CR and LF included), the line and paragraph separators U+2028 and
//     U+2029, and every byte that is not valid UTF-8 is replaced with
//     U+FFFD, one for each;
//
//   - in module names and versions, ":" and ";" are replaced with U+FFFD too,
//     so that a module list always splits back into the same modules.
//
//   - a value longer than its limit (256 bytes; 1 KiB for a module list)
//     is cut, on a character boundary, to end in "…"; and if the values of
//     a row still come to more than 4 KiB, the longest are cut further.
//     The cut column names every column whose value was cut, joined by
//     ";", so that a cut value is never taken for what was sent;
//
//   - a value that a spreadsheet would run as a formula — one starting
//     with "=", "+", "-", "@", a tab or a carriage return — gets a "'" put
//     in front, as OWASP recommends for CSV files, and so does a value
//     starting with "'". The [Reader] takes one leading "'" away, so it
//     reads back exactly what was sent; other tools show the "'".
//
// Nothing else is changed.
//
// # Durability
//
// [Log.Write] only queues the record; a goroutine writes the queue to the
// file and hands it to the operating system at least once a second and
// whenever the queue runs empty. When the queue is full Write waits: a
// record is never dropped to keep a request fast. [Log.Close] writes
// everything queued, syncs the file to disk and closes it. If the process
// dies without Close, the records of about the last second are lost; if the
// machine dies, whatever the operating system had not yet stored. The file
// is synced when a day's file is closed and at Close, not after each record.
//
// A write that fails is reported through the [log/slog.Logger] given to
// [Open], at most once a minute for each kind of failure, and counted by
// [Log.Errors]; the records concerned are lost and the responder goes on
// answering. After a failed write the file is reopened for the next
// record, and a row left incomplete is ended first, so the damage stays
// within that row.
//
// # Reading
//
// A [Reader] reads one file. It finds the columns by the names in the
// header row, so files with the columns in another order or with extra
// columns are read too. Rows that cannot be records are reported with their
// line and skipped; a copy of the header row in the middle of a file (as
// from concatenating files) is skipped silently. [Inventory] reads many
// files into a [Fleet], the latest record of each device.
package audit
