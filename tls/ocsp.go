package tlsterm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// maxOCSPResponse bounds what a responder may send us.
const maxOCSPResponse = 64 << 10

// fetchStaple asks the certificate's OCSP responders in the order the certificate lists them
// (RFC 6960 A.1, POST) and returns the first usable DER answer and when to ask again. A
// responder that fails, times out or answers something unusable passes the turn to the next;
// when all fail, the error names each. Only a "good" answer signed for this certificate is
// returned for stapling: stapling "revoked" or an answer for another certificate would make
// clients reject the handshake. ctx bounds the whole round.
func fetchStaple(ctx context.Context, hc *http.Client, e *entry, now time.Time) (staple []byte, refresh time.Time, err error) {
	if len(e.leaf.OCSPServer) == 0 || e.issuer == nil {
		return nil, time.Time{}, nil
	}
	req, err := ocsp.CreateRequest(e.leaf, e.issuer, &ocsp.RequestOptions{})
	if err != nil {
		return nil, time.Time{}, err
	}
	servers := e.leaf.OCSPServer
	if len(servers) > maxOCSPResponders {
		servers = servers[:maxOCSPResponders]
	}
	var errs []error
	for _, url := range servers {
		der, refresh, err := askResponder(ctx, hc, url, req, e, now)
		if err == nil {
			return der, refresh, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, time.Time{}, errors.Join(errs...)
}

// maxOCSPResponders bounds how many of a certificate's responders one round asks.
const maxOCSPResponders = 4

// askResponder asks one responder.
func askResponder(ctx context.Context, hc *http.Client, url string, req []byte, e *entry, now time.Time) ([]byte, time.Time, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: %w", url, err)
	}
	hr.Header.Set("Content-Type", "application/ocsp-request")
	hr.Header.Set("Accept", "application/ocsp-response")
	res, err := hc.Do(hr)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: status %d", url, res.StatusCode)
	}
	der, err := io.ReadAll(io.LimitReader(res.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: %w", url, err)
	}
	if len(der) > maxOCSPResponse {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: response larger than %d bytes", url, maxOCSPResponse)
	}
	r, err := ocsp.ParseResponseForCert(der, e.leaf, e.issuer)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: %w", url, err)
	}
	if r.Status != ocsp.Good {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: certificate %s status is %s", url, e.files.Cert, statusName(r.Status))
	}
	if !r.NextUpdate.IsZero() && !now.Before(r.NextUpdate) {
		return nil, time.Time{}, fmt.Errorf("ocsp %s: answer already stale (next update %s)", url, r.NextUpdate.UTC().Format(time.RFC3339))
	}
	return der, refreshAt(r.ThisUpdate, r.NextUpdate, now), nil
}

// refreshAt is halfway through the answer's validity, so a slow or failing responder leaves
// half the window for retries before the staple expires; with no NextUpdate, an hour.
func refreshAt(this, next, now time.Time) time.Time {
	if next.IsZero() {
		return now.Add(time.Hour)
	}
	if this.IsZero() || this.After(now) {
		this = now
	}
	return this.Add(next.Sub(this) / 2)
}

func statusName(s int) string {
	switch s {
	case ocsp.Good:
		return "good"
	case ocsp.Revoked:
		return "revoked"
	}
	return "unknown"
}

// staple installs a fresh answer by swapping in a copy of the certificate.
func (e *entry) staple(der []byte) {
	old := e.cur.Load()
	c := *old
	c.OCSPStaple = der
	e.cur.Store(&c)
}

// Staple returns the OCSP answer stapled for the configured certificate at index i (tests and
// admin views).
func (st *Store) Staple(i int) []byte {
	all := st.entries()
	if i < 0 || i >= len(all) {
		return nil
	}
	return all[i].cur.Load().OCSPStaple
}
