package app

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"ticketflow/internal/auth"
	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

// ErrBadCredentials is the one answer to every failed login, whether the
// account is unknown, inactive or the password wrong (SimpleJWT's wording,
// which the seeds' clients display).
var ErrBadCredentials = &desk.Error{Kind: desk.KindUnauthenticated, Message: "No active account found with the given credentials"}

// ErrNotAuthenticated is returned when a request carries no valid credential.
var ErrNotAuthenticated = &desk.Error{Kind: desk.KindUnauthenticated, Message: "Authentication credentials were not provided or are invalid."}

// RegisterInput is a self-registration request.
type RegisterInput struct {
	Email, Username, Password, Password2 string
	IP                                   string
}

// Register creates an account with the user role (never anything else),
// subject to the registration mode, the password policy and a per-IP limit.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*desk.User, error) {
	if s.cfg.Registration == RegistrationClosed {
		return nil, desk.Errorf(desk.KindForbidden, "Self-registration is turned off. Ask an administrator for an account.")
	}
	if ok, wait := s.registerIP.Check(in.IP); !ok {
		return nil, rateLimited(wait)
	}
	in.Email, in.Username = strings.TrimSpace(in.Email), strings.TrimSpace(in.Username)
	var errs desk.FieldErrors
	if msg := desk.ValidateEmail(in.Email); msg != "" {
		errs.Add("email", msg)
	} else if !s.domainAllowed(in.Email) {
		errs.Add("email", "Registration is limited to addresses at "+strings.Join(s.cfg.AllowedDomains, ", ")+".")
	}
	if msg := desk.ValidateUsername(in.Username); msg != "" {
		errs.Add("username", msg)
	}
	switch {
	case in.Password == "":
		errs.Add("password", "This field is required.")
	case in.Password2 == "":
		errs.Add("password2", "This field is required.")
	case in.Password != in.Password2:
		errs.Add("password", "Password fields didn't match.")
	default:
		for _, msg := range s.policy.Check(in.Password, in.Username, in.Email) {
			errs.Add("password", msg)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	u := &desk.User{Email: in.Email, Username: in.Username, PasswordHash: hash, Role: desk.RoleUser, Active: true, DateJoined: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, asFieldError(err)
	}
	s.registerIP.Fail(in.IP) // counts registrations, not only failures
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID)
	return u, nil
}

// asFieldError turns a uniqueness conflict that names a field into a
// validation error, the shape registration clients expect (400).
func asFieldError(err error) error {
	if e, ok := err.(*desk.Error); ok && e.Kind == desk.KindConflict && len(e.Fields) > 0 {
		return &desk.Error{Kind: desk.KindInvalid, Message: e.Message, Fields: e.Fields, Err: e.Err}
	}
	return err
}

func (s *Service) domainAllowed(email string) bool {
	if s.cfg.Registration != RegistrationDomains {
		return true
	}
	_, domain, _ := strings.Cut(strings.ToLower(email), "@")
	for _, d := range s.cfg.AllowedDomains {
		if domain == d {
			return true
		}
	}
	return false
}

// Credentials identify a user by email or username.
type Credentials struct {
	Login    string // email or username
	Password string
	IP       string
}

// authenticate checks credentials under the login limits. Unknown accounts
// cost the same password hash as known ones, and every failure returns
// ErrBadCredentials.
func (s *Service) authenticate(ctx context.Context, c Credentials) (*desk.User, error) {
	var errs desk.FieldErrors
	if strings.TrimSpace(c.Login) == "" {
		errs.Add("email", "This field is required.")
	}
	if c.Password == "" {
		errs.Add("password", "This field is required.")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	account := "acct:" + desk.NormalizeEmail(c.Login)
	if ok, wait := s.loginIP.Check(c.IP); !ok {
		return nil, rateLimited(wait)
	}
	if ok, wait := s.loginAccount.Check(account); !ok {
		return nil, rateLimited(wait)
	}
	u, err := s.store.UserByLogin(ctx, c.Login)
	if err != nil && !desk.IsKind(err, desk.KindNotFound) {
		return nil, err
	}
	ok := false
	if u == nil {
		s.hasher.VerifyDummy(ctx, c.Password)
	} else if ok, err = s.hasher.Verify(ctx, u.PasswordHash, c.Password); err != nil {
		s.log.ErrorContext(ctx, "stored password hash unreadable", "user_id", u.ID, "err", err)
		ok = false
	}
	if !ok || !u.Active {
		s.loginIP.Fail(c.IP)
		s.loginAccount.Fail(account)
		return nil, ErrBadCredentials
	}
	s.loginAccount.Reset(account)
	if s.hasher.NeedsRehash(u.PasswordHash) {
		if h, err := s.hasher.Hash(ctx, c.Password); err == nil {
			_ = s.store.SetPassword(ctx, u.ID, h, s.now())
			if fresh, err := s.store.UserByID(ctx, u.ID); err == nil {
				u = fresh
			}
		}
	}
	return u, nil
}

// Tokens are what an API login or refresh returns.
type Tokens struct {
	Access        string
	AccessExpires time.Time
	Refresh       string
}

// Login checks credentials and returns a new access token and the first
// refresh token of a new family.
func (s *Service) Login(ctx context.Context, c Credentials) (*desk.User, *Tokens, error) {
	u, err := s.authenticate(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	refresh, hash := auth.NewOpaqueToken()
	family, _ := auth.NewOpaqueToken()
	now := s.now()
	if err := s.store.CreateRefreshToken(ctx, store.RefreshToken{IDHash: hash, Family: family, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}); err != nil {
		return nil, nil, err
	}
	access, exp, err := s.issuer.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return nil, nil, err
	}
	return u, &Tokens{Access: access, AccessExpires: exp, Refresh: refresh}, nil
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token; the old one is spent. Presenting a spent token revokes its
// whole family. An inactive user's refresh fails.
func (s *Service) Refresh(ctx context.Context, refresh string) (*Tokens, error) {
	if refresh == "" {
		return nil, desk.Invalid("refresh", "This field is required.")
	}
	now := s.now()
	next, hash := auth.NewOpaqueToken()
	rt := store.RefreshToken{IDHash: hash, CreatedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
	if err := s.store.RotateRefreshToken(ctx, auth.HashToken(refresh), &rt, now); err != nil {
		if err == store.ErrRefreshReused {
			s.log.WarnContext(ctx, "refresh token reused; family revoked")
		}
		return nil, err
	}
	u, err := s.store.UserByID(ctx, rt.UserID)
	if err != nil || !u.Active {
		_ = s.store.RevokeUserRefreshTokens(ctx, rt.UserID, now)
		return nil, store.ErrRefreshInvalid
	}
	access, exp, err := s.issuer.Issue(u.ID, u.TokenVersion)
	if err != nil {
		return nil, err
	}
	return &Tokens{Access: access, AccessExpires: exp, Refresh: next}, nil
}

// Logout revokes the refresh token's family. If actor is not nil the token
// must be theirs.
func (s *Service) Logout(ctx context.Context, actor *desk.User, refresh string) error {
	if refresh == "" {
		return desk.Invalid("refresh", "This field is required.")
	}
	var id int64
	if actor != nil {
		id = actor.ID
	}
	return s.store.RevokeRefreshFamily(ctx, auth.HashToken(refresh), id, s.now())
}

// Authenticate returns the active user an access token belongs to. Tokens
// issued before the user's last role, password or activation change fail.
func (s *Service) Authenticate(ctx context.Context, access string) (*desk.User, error) {
	c, err := s.issuer.Verify(access)
	if err != nil {
		return nil, ErrNotAuthenticated
	}
	u, err := s.store.AuthUser(ctx, c.UserID)
	if desk.IsKind(err, desk.KindNotFound) {
		return nil, ErrNotAuthenticated
	}
	if err != nil {
		return nil, err
	}
	if !u.Active || u.TokenVersion != c.TokenVersion {
		return nil, ErrNotAuthenticated
	}
	return u, nil
}

// WebSession is a browser login: Token goes in the cookie, CSRF in forms.
type WebSession struct {
	Token   string
	CSRF    string
	Expires time.Time
}

// StartSession checks credentials and opens a browser session.
func (s *Service) StartSession(ctx context.Context, c Credentials, userAgent string) (*desk.User, *WebSession, error) {
	u, err := s.authenticate(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	ws, err := s.openSession(ctx, u, userAgent, c.IP)
	return u, ws, err
}

func (s *Service) openSession(ctx context.Context, u *desk.User, userAgent, ip string) (*WebSession, error) {
	token, hash := auth.NewOpaqueToken()
	csrf, _ := auth.NewOpaqueToken()
	now := s.now()
	userAgent = cleanText(userAgent, 256)
	sess := store.Session{IDHash: hash, UserID: u.ID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL), UserAgent: userAgent, IP: ip}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &WebSession{Token: token, CSRF: csrf, Expires: sess.ExpiresAt}, nil
}

// SessionUser returns the active user of a browser session and the
// session's CSRF token.
func (s *Service) SessionUser(ctx context.Context, token string) (*desk.User, string, error) {
	if token == "" {
		return nil, "", ErrNotAuthenticated
	}
	sess, u, err := s.store.SessionUser(ctx, auth.HashToken(token), s.now())
	if desk.IsKind(err, desk.KindNotFound) {
		return nil, "", ErrNotAuthenticated
	}
	if err != nil {
		return nil, "", err
	}
	if !u.Active {
		return nil, "", ErrNotAuthenticated
	}
	return u, sess.CSRFToken, nil
}

// EndSession deletes a browser session (logout).
func (s *Service) EndSession(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return s.store.DeleteSession(ctx, auth.HashToken(token))
}

// RegisterAndStartSession registers and logs the new user in (web form).
func (s *Service) RegisterAndStartSession(ctx context.Context, in RegisterInput, userAgent string) (*desk.User, *WebSession, error) {
	u, err := s.Register(ctx, in)
	if err != nil {
		return nil, nil, err
	}
	ws, err := s.openSession(ctx, u, userAgent, in.IP)
	return u, ws, err
}

// PurgeExpired deletes expired sessions and refresh tokens.
func (s *Service) PurgeExpired(ctx context.Context) error { return s.store.DeleteExpired(ctx, s.now()) }

// ActiveUser returns the user with that id if they are active, else
// ErrNotAuthenticated (for credentials that name a user, such as signed links).
func (s *Service) ActiveUser(ctx context.Context, id int64) (*desk.User, error) {
	u, err := s.store.UserByID(ctx, id)
	if desk.IsKind(err, desk.KindNotFound) || (err == nil && !u.Active) {
		return nil, ErrNotAuthenticated
	}
	return u, err
}

// cleanText makes a client-supplied header fit for storage on every
// engine: valid UTF-8 without NUL bytes (which PostgreSQL refuses), cut to
// at most max bytes on a character boundary.
func cleanText(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
