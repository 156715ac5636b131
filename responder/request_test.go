package responder

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const goodRequest = `<?xml version="1.0" encoding="utf-8"?>
<DeviceUpdateRequest>
  <Device>
    <DeviceType>UCPhone</DeviceType>
    <MAC>00-04-F2-12-34-56</MAC>
    <Serial>CX600A0012345</Serial>
    <Vendor>Polycom</Vendor>
    <Model>CX600</Model>
    <Revision>A</Revision>
    <Locale>ENU</Locale>
    <User>sip:alice@contoso.com</User>
  </Device>
  <Modules>
    <Module><Name>CPE.nbt</Name><Version>4.0.7577.4363</Version><Timestamp>2013-05-14T10:30:00Z</Timestamp></Module>
  </Modules>
</DeviceUpdateRequest>`

func TestParseRequest(t *testing.T) {
	want := &Request{DeviceType: "UCPhone", MAC: "00-04-F2-12-34-56", Serial: "CX600A0012345", Vendor: "Polycom", Model: "CX600",
		Revision: "A", Locale: "ENU", User: "sip:alice@contoso.com",
		Modules: []Module{{Name: "CPE.nbt", UpdateType: "CPE", Version: "4.0.7577.4363", Timestamp: "2013-05-14T10:30:00Z"}}}
	for _, tt := range []struct{ name, body string }{
		{"as documented", goodRequest},
		{"any case, namespaces, attributes, unknown elements, comments", `<?xml version="1.0"?><!-- hi --><d:DEVICEUPDATEREQUEST xmlns:d="urn:x">
<d:device devicetype="UCPhone" Vendor='Polycom'><mac>00-04-F2-12-34-56</mac><SERIAL>CX600A0012345</SERIAL><Model>CX600</Model>
<revision>A</revision><LOCALE>ENU</LOCALE><user>sip:alice@<![CDATA[contoso]]>.com</user><Firmware>ignored</Firmware></d:device>
<modules><module name="CPE.nbt" version="4.0.7577.4363"><timestamp>2013-05-14T10:30:00Z</timestamp></module></modules></d:DEVICEUPDATEREQUEST>`},
		{"entities", strings.Replace(goodRequest, "sip:alice@contoso.com", "sip:alice&#64;contoso&#x2e;com", 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequestRefuses(t *testing.T) {
	for _, tt := range []struct{ name, body, want string }{
		{"empty", "", "no DeviceType"},
		{"no modules", strings.Replace(goodRequest, "<Module><Name>CPE.nbt", "<Other><Name>CPE.nbt", 1), "unexpected </module>"},
		{"module without version", strings.Replace(goodRequest, "<Version>4.0.7577.4363</Version>", "", 1), "without a name or version"},
		{"DTD", `<!DOCTYPE x [<!ENTITY e "xxxxxxxx">]>` + goodRequest, "DTDs"},
		{"custom entity", strings.Replace(goodRequest, "ENU", "&e;", 1), "entity &e; not accepted"},
		{"unclosed", strings.TrimSuffix(goodRequest, "</DeviceUpdateRequest>"), "document ends inside"},
		{"mismatched", strings.Replace(goodRequest, "</Model>", "</Modelx>", 1), "unexpected </modelx>"},
		{"too deep", strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20), "nested deeper"},
		{"too big", strings.Repeat(" ", maxBody+1), "larger than"},
		{"not utf-8", "<a>\xff</a>", "not UTF-8"},
		{"too many modules", strings.Replace(goodRequest, "<Modules>", "<Modules>"+strings.Repeat("<Module><Name>x</Name><Version>1.0.0.0</Version></Module>", maxModules+1), 1), "more than 64 modules"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRequest([]byte(tt.body))
			if !errors.Is(err, errRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want errRequest with %q", err, tt.want)
			}
		})
	}
}

// render writes a request back as XML, the way the protocol documents it.
func render(r *Request) string {
	var b strings.Builder
	esc := func(s string) string {
		return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
	}
	b.WriteString("<DeviceUpdateRequest><Device>")
	for _, f := range [][2]string{{"DeviceType", r.DeviceType}, {"MAC", r.MAC}, {"Serial", r.Serial}, {"Vendor", r.Vendor}, {"Model", r.Model}, {"Revision", r.Revision}, {"Locale", r.Locale}, {"User", r.User}} {
		b.WriteString("<" + f[0] + ">" + esc(f[1]) + "</" + f[0] + ">")
	}
	b.WriteString("</Device><Modules>")
	for _, m := range r.Modules {
		b.WriteString("<Module><Name>" + esc(m.Name) + "</Name><UpdateType>" + esc(m.UpdateType) + "</UpdateType><Version>" + esc(m.Version) + "</Version><Timestamp>" + esc(m.Timestamp) + "</Timestamp></Module>")
	}
	b.WriteString("</Modules></DeviceUpdateRequest>")
	return b.String()
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(goodRequest))
	f.Add([]byte(`<a b="c"><Module name="x" version="1.2.3.4"/></a>`))
	f.Add([]byte(`<r><device><devicetype>a</devicetype><vendor>b</vendor><model>c</model><revision>d</revision><locale>e</locale></device><module><name>CPE.nbt</name><version>1.0.0.0</version></module></r>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			if !errors.Is(err, errRequest) {
				t.Fatalf("error outside errRequest (would not be a 4xx): %v", err)
			}
			return
		}
		// Whatever parses gives the same key when rendered and parsed
		// again.
		again, err := ParseRequest([]byte(render(r)))
		if err != nil {
			t.Fatalf("rendered request does not parse: %v\n%s", err, render(r))
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}
