package site

import (
	"encoding/json"
	"encoding/xml"
	"testing"

	"github.com/duws/duws/builder/device"
	"github.com/google/go-cmp/cmp"
)

func TestLookupPath(t *testing.T) {
	for _, tt := range []struct {
		id   device.Identity
		typ  string
		want string
	}{
		{device.Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "CPE", "lookup/ucphone~polycom~cx600~a~enu~cpe.json"},
		{device.Identity{DeviceType: "UCPhone", Brand: "HP", Model: "4120 Plus", Revision: "A~B", Locale: "DEU"}, "CPE", "lookup/ucphone~hp~4120%20plus~a%7Eb~deu~cpe.json"},
		{device.Identity{DeviceType: "UCPhone", Brand: "Bäcker", Model: "x", Revision: "a", Locale: "b"}, "CPE", "lookup/ucphone~b%C3%A4cker~x~a~b~cpe.json"},
	} {
		if got := LookupPath(tt.id, tt.typ); got != tt.want {
			t.Errorf("LookupPath(%v) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

func TestEncodeLookupRoundTrip(t *testing.T) {
	l := Lookup{
		Identity: `UCPhone/"Odd"/CX600/A/ENU`, UpdateType: "CPE",
		Production: Table{Target: "1.0.0.2", Answers: []string{"answers/a.xml", "answers/n.xml"}, Versions: map[string]int{"1.0.0.1": 0, "1.0.0.2": 1, "1.0.0.10": 0}, Older: 0, Newer: 1},
		Test:       Table{Answers: []string{"answers/n.xml"}, Versions: map[string]int{}, Older: 0, Newer: 0},
	}
	order := []device.Version{{1, 0, 0, 1}, {1, 0, 0, 2}, {1, 0, 0, 10}}
	b := EncodeLookup(&l, order)
	var got Lookup
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if diff := cmp.Diff(l, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if string(EncodeLookup(&l, order)) != string(b) {
		t.Error("not deterministic")
	}
}

func TestMergeAnswers(t *testing.T) {
	a := RenderAnswer([]Update{{UpdateType: "CPE", Version: "1.0.0.2", InternalURL: "i", ExternalURL: "e", SignatureFile: "CPE.cat", Files: []UpdateFile{{"CPE.nbt", 3, "ab"}}}})
	b := RenderAnswer([]Update{{UpdateType: "UI", Version: "2.0.0.0", InternalURL: "i2", ExternalURL: "e2"}})
	got, err := MergeAnswers([][]byte{a, NoUpdateAnswer(), b})
	if err != nil {
		t.Fatal(err)
	}
	if want := RenderAnswer([]Update{
		{UpdateType: "CPE", Version: "1.0.0.2", InternalURL: "i", ExternalURL: "e", SignatureFile: "CPE.cat", Files: []UpdateFile{{"CPE.nbt", 3, "ab"}}},
		{UpdateType: "UI", Version: "2.0.0.0", InternalURL: "i2", ExternalURL: "e2"},
	}); string(got) != string(want) {
		t.Errorf("merged:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := MergeAnswers([][]byte{NoUpdateAnswer(), NoUpdateAnswer()}); string(got) != string(NoUpdateAnswer()) {
		t.Errorf("merging nothing gave %s", got)
	}
	if _, err := MergeAnswers([][]byte{[]byte("<html>")}); err == nil {
		t.Error("foreign bytes merged")
	}
}

func TestDevicesIsTest(t *testing.T) {
	d := Devices{MACs: map[string]string{"0004f2123456": "global", "0004f2aaaaaa": "Dublin"}, Serials: map[string]string{"SN1": "Dublin"}}
	for _, tt := range []struct {
		mac, serial, site string
		want              bool
	}{
		{"0004f2123456", "", "", true},
		{"0004f2aaaaaa", "", "Dublin", true},
		{"0004f2aaaaaa", "", "Redmond", false},
		{"0004f2aaaaaa", "", "", false},
		{"", "SN1", "Dublin", true},
		{"ffffffffffff", "SN2", "Dublin", false},
	} {
		if got := d.IsTest(tt.mac, tt.serial, tt.site); got != tt.want {
			t.Errorf("IsTest(%q, %q, %q) = %v", tt.mac, tt.serial, tt.site, got)
		}
	}
}

func TestParseAnswerScanAgreesWithXML(t *testing.T) {
	for _, b := range [][]byte{
		NoUpdateAnswer(),
		RenderAnswer([]Update{{UpdateType: "CPE", Version: "1.0.0.2", InternalURL: "https://x/DeviceUpdateFiles_Int/a%20b/&c", ExternalURL: "e<>", SignatureFile: "CPE.cat",
			Files: []UpdateFile{{"CPE.cat", 3, "ab"}, {"x&y.nbt", 9, "cd"}}}, {UpdateType: "UI", Version: "2.0.0.0"}}),
	} {
		fast, ok := scanAnswer(string(b))
		if !ok {
			t.Fatalf("scan refused its own rendering:\n%s", b)
		}
		var slow ParsedAnswer
		if err := xml.Unmarshal(b, &slow); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&slow, fast); diff != "" {
			t.Errorf("scan and encoding/xml differ (-xml +scan):\n%s", diff)
		}
	}
	if _, ok := scanAnswer("<DeviceUpdateResponse/>"); ok {
		t.Error("scan accepted another layout")
	}
}
