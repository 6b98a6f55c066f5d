import { bindLangSwitch, currentLang } from "./labels.js";
import { HOME, load, login, safeNext } from "./session.js";

bindLangSwitch();
const next = safeNext(new URLSearchParams(location.search).get("next"));

function land(role) {
  location.replace(next && next.startsWith("/staff/") && next !== "/staff/" ? next : HOME[role] || "/staff/");
}

const existing = load();
if (existing && existing.expires_at > Date.now()) land(existing.role);

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = document.getElementById("login-error");
  const button = document.getElementById("login-submit");
  error.hidden = true;
  button.disabled = true;
  try {
    const result = await login(document.getElementById("username").value.trim(), document.getElementById("password").value);
    if (result.error) {
      error.textContent = currentLang() === "en" ? result.error.message_en : result.error.message;
      error.hidden = false;
      return;
    }
    land(result.session.role);
  } catch {
    error.textContent = currentLang() === "en" ? "Network error; try again." : "网络错误，请重试。";
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
});
