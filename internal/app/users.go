package app

import (
	"context"
	"strings"

	"ticketflow/internal/desk"
	"ticketflow/internal/store"
)

// UserQuery filters the admin user list. Strings are raw request values.
type UserQuery struct {
	Search, Role, Active string
	Page, PageSize       int
}

// Users lists accounts for an admin; anyone else gets KindForbidden.
func (s *Service) Users(ctx context.Context, actor *desk.User, q UserQuery) ([]desk.User, int, error) {
	if !desk.CanManageUsers(actor) {
		return nil, 0, forbidden()
	}
	f := store.UserFilter{Search: q.Search}
	var errs desk.FieldErrors
	if q.Role != "" {
		r, ok := desk.ParseRole(q.Role)
		if !ok {
			errs.Add("role", `Must be "admin" or "user".`)
		}
		f.Role = r
	}
	switch strings.ToLower(q.Active) {
	case "":
	case "true", "1":
		t := true
		f.Active = &t
	case "false", "0":
		t := false
		f.Active = &t
	default:
		errs.Add("is_active", `Must be "true" or "false".`)
	}
	if err := errs.Err(); err != nil {
		return nil, 0, err
	}
	size := q.PageSize
	if size <= 0 || size > 200 {
		size = 50
	}
	if q.Page > MaxOffset/size+1 {
		return nil, 0, desk.Invalid("page", "Too deep: narrow the search instead.")
	}
	f.Limit, f.Offset = size, max(q.Page-1, 0)*size
	return s.store.Users(ctx, f)
}

// Me returns the actor's own account as stored now. Authentication may
// answer from a cache up to a second old (store.AuthUser); a profile read
// comes from the database, so it shows a change made elsewhere at once and
// fails like any other read when the database is unavailable.
func (s *Service) Me(ctx context.Context, actor *desk.User) (*desk.User, error) {
	if actor == nil {
		return nil, ErrNotAuthenticated
	}
	u, err := s.store.UserByID(ctx, actor.ID)
	if desk.IsKind(err, desk.KindNotFound) {
		return nil, ErrNotAuthenticated
	}
	return u, err
}

// User returns one account for an admin.
func (s *Service) User(ctx context.Context, actor *desk.User, id int64) (*desk.User, error) {
	if !desk.CanManageUsers(actor) {
		return nil, forbidden()
	}
	return s.store.UserByID(ctx, id)
}

// UserChange is an admin's edit of an account; nil fields stay as they are.
type UserChange struct {
	Role   *string
	Active *bool
}

// UpdateUser changes a user's role or active flag (admins only). Neither
// change may leave the system without an active admin (KindConflict).
// Deactivation ends the user's sessions and refresh tokens at once; any
// change invalidates their access tokens.
func (s *Service) UpdateUser(ctx context.Context, actor *desk.User, id int64, c UserChange) (*desk.User, error) {
	if !desk.CanManageUsers(actor) {
		return nil, forbidden()
	}
	target, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	role, active := target.Role, target.Active
	if c.Role != nil {
		r, ok := desk.ParseRole(*c.Role)
		if !ok {
			return nil, desk.Invalid("role", `Must be "admin" or "user".`)
		}
		role = r
	}
	if c.Active != nil {
		active = *c.Active
	}
	if role == target.Role && active == target.Active {
		return target, nil
	}
	u, err := s.store.SetUserAccess(ctx, id, role, active, s.now())
	if err != nil {
		return nil, err
	}
	if !u.Active {
		if err := s.store.DeleteUserSessions(ctx, id); err != nil {
			return nil, err
		}
		if err := s.store.RevokeUserRefreshTokens(ctx, id, s.now()); err != nil {
			return nil, err
		}
	}
	s.log.InfoContext(ctx, "user access changed", "by", actor.ID, "user_id", id, "role", u.Role, "active", u.Active)
	// Their open streams were authorised for the old rights: end them.
	s.publish(ctx, desk.Event{Kind: desk.EventUserAccess, Audience: desk.AudienceNobody, OwnerID: id})
	return u, nil
}

// AdminResult says what CreateAdmin did.
type AdminResult string

// The outcomes of CreateAdmin.
const (
	AdminCreated   AdminResult = "created"
	AdminPromoted  AdminResult = "promoted"
	AdminUnchanged AdminResult = "unchanged"
)

// CreateAdmin makes sure an active admin with that email or username
// exists (operator command). An existing account is promoted and
// reactivated, keeping its password; a new one gets password, which must
// pass the policy.
func (s *Service) CreateAdmin(ctx context.Context, email, username, password string) (*desk.User, AdminResult, error) {
	byEmail, err := s.findUser(ctx, email)
	if err != nil {
		return nil, "", err
	}
	byName, err := s.findUser(ctx, username)
	if err != nil {
		return nil, "", err
	}
	if byEmail != nil && byName != nil && byEmail.ID != byName.ID {
		return nil, "", desk.Errorf(desk.KindConflict, "The email belongs to %q and the username to another account.", byEmail.Username)
	}
	existing := byEmail
	if existing == nil {
		existing = byName
	}
	if existing != nil {
		if existing.IsAdmin() {
			return existing, AdminUnchanged, nil
		}
		u, err := s.store.SetUserAccess(ctx, existing.ID, desk.RoleAdmin, true, s.now())
		return u, AdminPromoted, err
	}
	var errs desk.FieldErrors
	if msg := desk.ValidateEmail(email); msg != "" {
		errs.Add("email", msg)
	}
	if msg := desk.ValidateUsername(username); msg != "" {
		errs.Add("username", msg)
	}
	for _, msg := range s.policy.Check(password, username, email) {
		errs.Add("password", msg)
	}
	if err := errs.Err(); err != nil {
		return nil, "", err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, "", err
	}
	u := &desk.User{Email: strings.TrimSpace(email), Username: strings.TrimSpace(username), PasswordHash: hash,
		Role: desk.RoleAdmin, Active: true, DateJoined: s.now()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, "", err
	}
	return u, AdminCreated, nil
}

func (s *Service) findUser(ctx context.Context, login string) (*desk.User, error) {
	if strings.TrimSpace(login) == "" {
		return nil, nil
	}
	u, err := s.store.UserByLogin(ctx, login)
	if desk.IsKind(err, desk.KindNotFound) {
		return nil, nil
	}
	return u, err
}

// CountAdmins reports how many active admins exist (for the first-run hint).
func (s *Service) CountAdmins(ctx context.Context) (int, error) {
	_, n, err := s.store.Users(ctx, store.UserFilter{Role: desk.RoleAdmin, Active: ptr(true), Limit: 1})
	return n, err
}

func ptr[T any](v T) *T { return &v }

func forbidden() error {
	return desk.Errorf(desk.KindForbidden, "You do not have permission to perform this action.")
}
