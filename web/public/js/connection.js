// The Socket.IO connection to the gateway: acknowledged calls, a visible state, and recovery.
// The official client (from npm, served by the gateway) reconnects by itself after a network
// drop or a server restart; a refusal at connect (an expired token) needs a refresh first.

import { io } from "/vendor/socket.io.esm.min.js";

import { AuthError } from "./session.js";

const CALL_TIMEOUT_MS = 20_000;
const TOKEN_CODES = new Set(["token_missing", "token_invalid", "token_expired"]);

export class ChatError extends Error {
  /** @param retryAfter seconds the server asks to wait before asking again, if it says */
  constructor(code, message, retryAfter = null) {
    super(message);
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export class Connection {
  /**
   * @param session the Session, asked for a fresh token on every (re)connect
   * @param hooks {onState(state), onConnected(isReconnect), onSessionLost(error)}
   */
  constructor(session, hooks) {
    this.session = session;
    this.hooks = hooks;
    this.everConnected = false;
    this.expired = false;
    this.state = "connecting";
    this.socket = io(window.location.origin, {
      // Websocket only: gateway nodes behind a balancer need no sticky sessions.
      transports: ["websocket"],
      auth: (give) => give({ token: session.accessToken }),
      reconnectionDelay: 500,
      reconnectionDelayMax: 5_000,
    });
    this.socket.on("connect", () => this.connected());
    this.socket.on("disconnect", (reason) => this.disconnected(reason));
    this.socket.on("connect_error", (error) => this.refused(error));
    // The server closes a socket when its access token expires: come back with the fresh one.
    this.socket.on("session_expired", () => {
      this.expired = true;
    });
  }

  on(event, handler) {
    this.socket.on(event, handler);
  }

  /** Emit with an acknowledgement; resolves with the reply, rejects with a ChatError
   * (code "offline" when the connection is down or drops before the answer). */
  async call(event, data) {
    if (!this.socket.connected) throw new ChatError("offline", "not connected; reconnecting…");
    let dropped;
    const lost = new Promise((_, reject) => {
      dropped = () => reject(new ChatError("offline", "the connection dropped; reconnecting…"));
      this.socket.once("disconnect", dropped);
    });
    let reply;
    try {
      reply = await Promise.race([
        this.socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, data),
        lost,
      ]);
    } catch (error) {
      if (error instanceof ChatError) throw error;
      throw new ChatError("timeout", "the server did not answer in time");
    } finally {
      this.socket.off("disconnect", dropped);
    }
    if (!reply || reply.ok !== true) {
      const error = reply?.error ?? {};
      const retryAfter = typeof error.retry_after === "number" ? error.retry_after : null;
      throw new ChatError(error.code ?? "refused", error.message ?? "the server refused", retryAfter);
    }
    return reply;
  }

  /** Fire and forget (typing). */
  emit(event, data) {
    if (this.socket.connected) this.socket.emit(event, data);
  }

  close() {
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  setState(state) {
    this.state = state;
    this.hooks.onState(state);
  }

  connected() {
    const isReconnect = this.everConnected;
    this.everConnected = true;
    this.setState("online");
    this.hooks.onConnected(isReconnect);
  }

  disconnected(reason) {
    if (reason === "io client disconnect") return this.setState("offline");
    this.setState("reconnecting");
    // The server closed the socket: the client will not retry by itself.
    if (reason !== "io server disconnect") return;
    if (this.expired) {
      this.expired = false;
      this.session.freshen().finally(() => this.socket.connect());
    } else {
      setTimeout(() => this.socket.connect(), 500); // e.g. a node shutting down
    }
  }

  async refused(error) {
    this.setState(this.everConnected ? "reconnecting" : "connecting");
    const code = error?.data?.code;
    if (TOKEN_CODES.has(code)) {
      try {
        await this.session.refresh();
      } catch (refreshError) {
        if (refreshError instanceof AuthError) this.hooks.onSessionLost(refreshError);
        else setTimeout(() => this.socket.connect(), 3_000); // auth unreachable: later
        return;
      }
      this.socket.connect();
    } else if (code) {
      // Refused for another reason (the service is unavailable): try again shortly.
      setTimeout(() => this.socket.connect(), 2_000);
    }
    // Without a code it is a transport error, and the client retries by itself.
  }
}
