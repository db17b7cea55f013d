package notifytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// xoauth2 is the SASL mechanism name Google and Microsoft use for an OAuth
// access token over SMTP.
const xoauth2 = "XOAUTH2"

// xoauth2Server is the server side of XOAUTH2 as Google documents it
// (developers.google.com/gmail/imap/xoauth2-protocol, "SMTP Protocol
// Exchange") and Microsoft follows (learn.microsoft.com, "Authenticate an
// IMAP, POP or SMTP connection using OAuth"): the client's initial response
// is "user=<user>\x01auth=Bearer <token>\x01\x01"; a good one gets 235; a
// bad one gets a 334 challenge carrying a JSON error, to which the client
// answers an empty line, and then 535. go-sasl has no XOAUTH2 server, so
// this is one, to that description.
type xoauth2Server struct {
	check  func(user, token string) error
	failed error // the initial response was refused: the next step ends
}

// Next implements sasl.Server.
func (x *xoauth2Server) Next(response []byte) (challenge []byte, done bool, err error) {
	if x.failed != nil {
		// The client's empty answer to the error challenge.
		return nil, true, x.failed
	}
	if response == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	user, token, err := parseXOAuth2(string(response))
	if err == nil {
		err = x.check(user, token)
	}
	if err != nil {
		x.failed = err
		// Google's documented error challenge.
		return []byte(`{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}`), false, nil
	}
	return nil, true, nil
}

// parseXOAuth2 reads an XOAUTH2 initial client response.
func parseXOAuth2(s string) (user, token string, err error) {
	rest, ok := strings.CutSuffix(s, "\x01\x01")
	if !ok {
		return "", "", errors.New("xoauth2: response does not end with ^A^A")
	}
	for _, kv := range strings.Split(rest, "\x01") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			user = v
		case "auth":
			var found bool
			if token, found = strings.CutPrefix(v, "Bearer "); !found {
				return "", "", errors.New("xoauth2: auth is not a Bearer token")
			}
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("xoauth2: no user or no token")
	}
	return user, token, nil
}

// SelfSigned makes a certificate for 127.0.0.1 and localhost, signed by
// itself, for one test: the server's TLS config, the pool that trusts it
// (a client's RootCAs), and the certificate in PEM (for SSL_CERT_FILE).
func SelfSigned(t testing.TB) (server *tls.Config, roots *x509.CertPool, certPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Its validity is wide of any clock: the test's own stays out of it.
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "retainer test SMTP server"},
		NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	return server, roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
