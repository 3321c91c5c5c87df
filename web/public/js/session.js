// The signed-in person: tokens from the auth service, kept in sessionStorage (this tab, until
// it closes or the person logs out), the access token refreshed before it expires.

const STORAGE_KEY = "chat.session";
const REFRESH_MARGIN_MS = 60_000;

export class AuthError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** "username: may contain only letters…" lines after the message, for people. */
  describe() {
    const details = Object.entries(this.fields ?? {}).map(
      ([field, problems]) => `${field}: ${[].concat(problems).join(", ")}`,
    );
    return [this.message, ...details].join(" — ");
  }
}

export class Session {
  constructor(authUrl) {
    this.authUrl = authUrl;
    this.data = null; // {access_token, refresh_token, expires_at, user_id, username}
    this.timer = null;
    this.refreshing = null;
    this.onEnded = () => {};
    this.onRefreshed = () => {};
  }

  get signedIn() {
    return this.data !== null;
  }

  get accessToken() {
    return this.data?.access_token ?? "";
  }

  get userId() {
    return this.data?.user_id ?? "";
  }

  get username() {
    return this.data?.username ?? "";
  }

  /** Pick up the session this tab already had (after a reload), refreshing it if it is stale. */
  async resume() {
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (!saved) return false;
    try {
      this.data = JSON.parse(saved);
    } catch {
      sessionStorage.removeItem(STORAGE_KEY);
      return false;
    }
    try {
      if (this.data.expires_at - Date.now() < REFRESH_MARGIN_MS) await this.refresh();
      else this.schedule();
    } catch (error) {
      if (error instanceof AuthError) {
        this.clear();
        return false;
      }
      this.schedule(); // auth unreachable for now: keep the session, try again soon
    }
    return true;
  }

  async register(username, password) {
    await this.call("POST", "/register", { username, password });
    await this.login(username, password);
  }

  async login(username, password) {
    const tokens = await this.call("POST", "/login", { username, password });
    const me = await this.call("GET", "/me", null, tokens.access_token);
    this.store(tokens, me);
  }

  /** A new pair for the refresh token. One at a time: a refresh token works only once. */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.call("POST", "/refresh", { refresh_token: this.data.refresh_token })
        .then((tokens) => {
          if (!this.data) return; // logged out meanwhile
          this.store(tokens, this.data);
          this.onRefreshed();
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  /** Refresh now if the access token is about to expire (timers sleep in background tabs). */
  async freshen() {
    if (this.data && this.data.expires_at - Date.now() < REFRESH_MARGIN_MS) {
      await this.refresh().catch((error) => this.end(error));
    }
  }

  logout() {
    const refreshToken = this.data?.refresh_token;
    this.clear();
    // Spend the refresh token on the server too; the page is signed out either way.
    if (refreshToken) this.call("POST", "/logout", { refresh_token: refreshToken }).catch(() => {});
  }

  end(error) {
    this.clear();
    this.onEnded(error);
  }

  clear() {
    clearTimeout(this.timer);
    this.data = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  store(tokens, me) {
    this.data = {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      expires_at: Date.now() + tokens.expires_in * 1000,
      user_id: me.user_id,
      username: me.username,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.data));
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const ttl = this.data.expires_at - Date.now();
    const delay = Math.max(1_000, ttl - Math.min(REFRESH_MARGIN_MS, ttl / 5));
    this.timer = setTimeout(() => {
      this.refresh().catch((error) => {
        if (error instanceof AuthError) this.end(error);
        else this.timer = setTimeout(() => this.schedule(), 5_000); // auth unreachable: retry
      });
    }, delay);
  }

  async call(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (body !== null && body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(`${this.authUrl}${path}`, {
        method,
        headers,
        body: body === null || body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error("the sign-in service cannot be reached; try again in a moment");
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error ?? {};
      throw new AuthError(
        response.status,
        error.code ?? "http_error",
        error.message ?? `the sign-in service answered ${response.status}`,
        error.fields,
      );
    }
    return data;
  }
}
