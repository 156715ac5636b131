package audit

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReader(t *testing.T) {
	row := "2024-05-01T10:00:00Z," + cx600Row
	rec := cx600("2024-05-01T10:00:00Z")
	tests := []struct {
		name  string
		input string
		want  []Record
		errs  []string // row errors, in order, then a final error other than io.EOF
	}{
		{name: "empty file"},
		{name: "header only", input: hdr},
		{name: "one row", input: hdr + row, want: []Record{rec}},
		{name: "no final newline", input: hdr + strings.TrimSuffix(row, "\n"), want: []Record{rec}},
		{name: "CRLF and blank lines", input: strings.ReplaceAll(hdr+"\n"+row+"\n", "\n", "\r\n"), want: []Record{rec}},
		{
			name:  "columns reordered and extra, header with BOM and spaces",
			input: "\ufeffOutcome,extra, time ,client,device_type,mac,serial,vendor,model,revision,locale,request_modules,response_modules,user\n" + "update,x," + strings.TrimSuffix(row, ",update,,,,,,\n") + "\n",
			want:  []Record{rec},
		},
		{name: "repeated header skipped", input: hdr + row + hdr + row, want: []Record{rec, rec}},
		{
			name:  "offset time to UTC, fractions kept",
			input: hdr + "2024-05-01T12:00:00.5+02:00," + cx600Row,
			want: []Record{func() Record {
				r := cx600("2024-05-01T10:00:00.5Z")
				return r
			}()},
		},
		{
			name:  "modules leniently",
			input: hdr + "2024-05-01T10:00:00Z,10.0.0.5,UCPhone,00-04-F2-12-34-56,CX600A0012345,Polycom,CX600,A,ENU,CPE.nbt;;:;x:y:z,,sip:alice@contoso.com,update,,,,,,\n",
			want: []Record{func() Record {
				r := cx600("2024-05-01T10:00:00Z")
				r.RequestModules = []Module{{"CPE.nbt", ""}, {"", ""}, {"x", "y:z"}}
				r.ResponseModules = nil
				return r
			}()},
		},
		{
			name:  "malformed rows skipped",
			input: hdr + row + "2024-05-01T10:00:00Z,too,few\n" + "yesterday," + cx600Row + `2024-05-01T10:00:00Z,a"b` + strings.Repeat(",", 17) + "\n" + row,
			want:  []Record{rec, rec},
			errs: []string{
				"audit: line 3: 3 fields, want 19",
				`audit: line 4: time "yesterday": want RFC 3339`,
				`audit: line 5: column 23: bare " in non-quoted-field`,
			},
		},
		{
			name:  "unterminated quote at the end",
			input: hdr + row + `2024-05-01T10:00:00Z,"abc`,
			want:  []Record{rec},
			errs:  []string{`audit: line 3: column 26: extraneous or missing " in quoted-field`},
		},
		{
			name:  "not an audit log",
			input: "a,b,c\n1,2,3\n",
			errs:  []string{`audit: line 1: no column "time": not an audit log`},
		},
		{
			name:  "rows without a header",
			input: row + row,
			errs:  []string{`audit: line 1: column "" twice: not an audit log`},
		},
		{
			name:  "column twice",
			input: strings.TrimSuffix(hdr, "\n") + ",mac\n",
			errs:  []string{`audit: line 1: column "mac" twice: not an audit log`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.input))
			var got []Record
			var errs []string
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					errs = append(errs, err.Error())
					if errors.Is(err, ErrRow) {
						continue
					}
					if !errors.Is(err, ErrHeader) {
						t.Errorf("error wraps neither ErrRow nor ErrHeader: %v", err)
					}
					if _, again := r.Read(); again == nil || again.Error() != err.Error() {
						t.Errorf("Read after %v = %v, want the same error", err, again)
					}
					break
				}
				got = append(got, rec)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.errs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
