// Start: find the auth service, resume this tab's session or show the login form.

import { ChatApp } from "./chat.js";
import { $, show } from "./dom.js";
import { Session } from "./session.js";

let app = null;

async function start() {
  const config = await fetch("/config.json").then((response) => response.json());
  const session = new Session(config.auth_url);
  session.onEnded = (error) => loggedOut(session, error);
  bindLogin(session);
  $("logout-button").addEventListener("click", () => {
    session.logout();
    loggedOut(session);
  });
  // Timers sleep in background tabs: check the token when the person comes back.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") session.freshen();
  });
  if (await session.resume()) loggedIn(session);
  else loggedOut(session);
}

function bindLogin(session) {
  const form = $("login-form");
  const submit = async (register) => {
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    if (!form.reportValidity()) return;
    $("login-error").textContent = "";
    for (const button of form.querySelectorAll("button")) button.disabled = true;
    try {
      if (register) await session.register(username, password);
      else await session.login(username, password);
      $("login-password").value = "";
      loggedIn(session);
    } catch (error) {
      $("login-error").textContent = error.describe ? error.describe() : error.message;
    } finally {
      for (const button of form.querySelectorAll("button")) button.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(false);
  });
  $("register-button").addEventListener("click", () => submit(true));
}

function loggedIn(session) {
  show($("login-view"), false);
  show($("chat-view"), true);
  app = new ChatApp(session, (error) => {
    session.clear();
    loggedOut(session, error);
  });
  // The keyboard at the list of groups (the composer, once a group opens).
  $("groups-heading").focus();
}

function loggedOut(session, error) {
  app?.stop();
  app = null;
  show($("chat-view"), false);
  show($("login-view"), true);
  document.body.classList.remove("in-conversation");
  $("login-error").textContent = error ? "Your session has ended; please log in again." : "";
  $("login-username").focus();
}

start().catch((error) => {
  document.body.textContent = `The chat could not start: ${error.message}`;
});
