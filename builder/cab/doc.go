// Package cab reads and writes Microsoft Cabinet files, the format of
// UCUpdates.cab and of most Windows update packages. It is shaped like
// archive/zip: [NewReader] over an io.ReaderAt, [OpenReader] for a file
// name, [Reader.File] with [File.Open], and [Reader.Open] as an [fs.FS].
// It knows cabinets and nothing about firmware.
//
// # What it reads
//
//   - Every CFHEADER flag, and the per-cabinet, per-folder and per-block
//     reserve areas (signed cabinets keep their signature there).
//   - Multi-cabinet sets: [OpenReader] follows the names a cabinet records,
//     back to the first cabinet and on to the last, in the same directory
//     (ignoring case); [NewSetReader] and [OpenSet] take a list. A folder
//     that continues into the next cabinet is read as one, a block split
//     between two cabinets is joined, and a file listed by both cabinets
//     is listed once. A missing cabinet makes only the files that need it
//     fail, naming it.
//   - Cabinets embedded in another file, such as the self-extracting
//     UCUpdates.exe: when a file does not start with a cabinet, it is
//     searched for a header that parses, as cabextract does ([Search]).
//     [Reader.OpenRaw] gives exactly the cabinet's bytes inside such a
//     file, as archive/zip's File.OpenRaw gives a file's.
//   - Several cabinets in one file, one after another (cat of cabinets,
//     with anything between them): [NewReader] reads the first, and
//     [NewReaders] every one, in file order, each with its offset;
//     [NewReaderAt] reads the one at an offset [Search] found.
//   - Compression: none; MSZIP (deflate per block behind "CK", with the
//     32 KiB history carried from block to block within a folder);
//     Quantum, levels 1 to 7 (windows of 2^10 to 2^21 bytes); LZX, windows
//     of 2^15 to 2^21 bytes, with Intel E8 translation. Each CFDATA block
//     is one frame of at most 32 KiB, as Microsoft's extractor treats it.
//   - CFDATA checksums, verified when not zero ([ErrChecksum] names the
//     folder and block).
//   - Names: UTF-8 when the file's attribute says so, otherwise decoded as
//     Latin-1 (ISO 8859-1), since a cabinet does not record its code page;
//     "\" is the separator and is reported as "/". Times are MS-DOS local
//     times without a zone, reported as UTC.
//
// # Limits and safety
//
// Input is untrusted. A count is trusted only once the file is known to be
// large enough to hold what it counts; a file never yields more bytes than
// it declares; blocks are at most 32 KiB of output and 38 KiB of input, so
// a decompression bomb stops at the declared sizes and memory stays under
// a few MiB per open folder (LZX's largest window is 2 MiB); every loop is
// bounded by the input, so no input makes a reader loop forever. Malformed
// input is reported with [ErrFormat], wrapped with where it was found;
// unsupported methods with [ErrAlgorithm]. A cabinet shorter than its
// header declares says by how many bytes ("possibly truncated by N
// bytes", as cabextract puts it), and a file that cannot be reached
// because the data of an earlier file of its folder does not decode names
// that file; after the first such failure the rest of the folder fails at
// once, without decoding it again. Listing shows every name, but
// [ValidName] (and so [Reader.Open]) refuses names that are absolute,
// contain "..", a drive letter, a UNC prefix, a device name or a control
// character, reporting [ErrInsecurePath].
//
// Several files may be read at once. The files of one folder are decoded
// most cheaply in order: a reader parks its folder decoder when a file is
// done, and the next file of that folder continues from it.
//
// # Writing
//
// [Writer] writes none, MSZIP and LZX folders (LZX through a simple
// encoder meant for tests and benchmarks), several folders and files,
// with dates and attributes; what it writes lists, tests and extracts with
// cabextract and gcab byte for byte.
package cab
