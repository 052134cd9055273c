import { csrfField } from '../csrf.ts';
import { html, type SafeHtml } from '../html.ts';
import { formError, textField } from './fields.ts';

export function signInView(options: { csrfToken: string; error?: string | undefined; username?: string | undefined; next: string }): SafeHtml {
  return html`<form class="card narrow" method="post" action="/dashboard/sign-in">
  ${csrfField(options.csrfToken)}
  <input type="hidden" name="next" value="${options.next}">
  ${formError(options.error)}
  ${textField({ name: 'username', label: 'User name', value: options.username, autocomplete: 'username', required: true, code: true })}
  ${textField({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true })}
  <button type="submit" class="primary">Sign in</button>
  <p class="hint">The <code>admin</code> password was printed once, next to the first API key, when Pictor first started.
    Change it with <code>pictor admin set-password</code>.</p>
</form>`;
}
