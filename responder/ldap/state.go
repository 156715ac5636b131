package ldap

import (
	"strconv"
	"time"
)

// Bits of Active Directory's userAccountControl.
const (
	uacDisabled = 0x2
	uacLockout  = 0x10
)

// adNever is accountExpires's "never", beside 0.
const adNever = 1<<63 - 1

// adEpochOffset is the number of seconds from 1601-01-01, where Active
// Directory's FILETIME counts 100 ns intervals from, to 1970-01-01.
const adEpochOffset = 11644473600

// ppolicyAdminLock is the pwdAccountLockedTime an administrator sets to
// lock an account until it is unlocked again.
const ppolicyAdminLock = "000001010000Z"

// accountState says why the account with these attributes may not sign
// in at now, or "" if nothing in them refuses it. Values that do not
// parse refuse the account: a directory that says something unexpected
// about an account's state gets the benefit of the doubt, not the user.
func accountState(attrs map[string]string, now time.Time) string {
	if v, ok := attrs["userAccountControl"]; ok {
		uac, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return "unreadable userAccountControl " + strconv.Quote(v)
		case uac&uacDisabled != 0:
			return "account disabled (userAccountControl)"
		case uac&uacLockout != 0:
			return "account locked (userAccountControl)"
		}
	}
	if v, ok := attrs["accountExpires"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return "unreadable accountExpires " + strconv.Quote(v)
		case n != 0 && n != adNever && !adTime(n).After(now):
			return "account expired (accountExpires)"
		}
	}
	if v, ok := attrs["pwdAccountLockedTime"]; ok && v == ppolicyAdminLock {
		return "account locked by an administrator (pwdAccountLockedTime)"
	}
	if v, ok := attrs["shadowExpire"]; ok {
		days, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil:
			return "unreadable shadowExpire " + strconv.Quote(v)
		case days >= 0 && days*86400 <= now.Unix():
			return "account expired (shadowExpire)"
		}
	}
	return ""
}

// adTime converts a FILETIME.
func adTime(n int64) time.Time {
	return time.Unix(n/1e7-adEpochOffset, 0)
}
