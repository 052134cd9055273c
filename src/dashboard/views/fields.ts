import { html, type HtmlValue, type SafeHtml } from '../html.ts';

/** Form controls with their label, hint and error, wired for assistive technology (`aria-describedby`, `aria-invalid`). */
export interface FieldBase {
  name: string;
  label: string;
  hint?: HtmlValue;
  error?: string | undefined;
  /** Defaults to `f-<name>`. */
  id?: string;
}

export function fieldId(name: string): string {
  return `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

function describedBy(id: string, field: FieldBase): string | undefined {
  const ids = [field.hint ? `${id}-hint` : '', field.error ? `${id}-error` : ''].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

function notes(id: string, field: FieldBase): SafeHtml {
  return html`${field.hint ? html`<p class="hint" id="${id}-hint">${field.hint}</p>` : ''}${
    field.error ? html`<p class="error" id="${id}-error">${field.error}</p>` : ''
  }`;
}

function attr(name: string, value: string | number | undefined): SafeHtml {
  return value === undefined ? html`` : html` ${name}="${value}"`;
}

function flag(name: string, on: boolean | undefined): SafeHtml {
  return on ? html` ${name}` : html``;
}

export interface TextField extends FieldBase {
  value?: string | undefined;
  type?: 'text' | 'password' | 'number' | 'search' | 'url';
  required?: boolean;
  autocomplete?: string;
  inputmode?: string;
  placeholder?: string;
  min?: number;
  /** No spell checking or autocapitalisation: URLs, ids, keys. */
  code?: boolean;
}

export function textField(field: TextField): SafeHtml {
  const id = field.id ?? fieldId(field.name);
  const described = describedBy(id, field);
  return html`<div class="field${field.error ? ' has-error' : ''}">
  <label for="${id}">${field.label}</label>
  <input id="${id}" name="${field.name}" type="${field.type ?? 'text'}"${attr('value', field.value)}${attr('autocomplete', field.autocomplete)}${attr(
    'inputmode',
    field.inputmode,
  )}${attr('placeholder', field.placeholder)}${attr('min', field.min)}${attr('aria-describedby', described)}${flag('required', field.required)}${
    field.error ? html` aria-invalid="true"` : ''
  }${field.code ? html` spellcheck="false" autocapitalize="off" class="code"` : ''}>
  ${notes(id, field)}
</div>`;
}

export interface TextArea extends FieldBase {
  value?: string | undefined;
  rows?: number;
}

export function textArea(field: TextArea): SafeHtml {
  const id = field.id ?? fieldId(field.name);
  const described = describedBy(id, field);
  return html`<div class="field${field.error ? ' has-error' : ''}">
  <label for="${id}">${field.label}</label>
  <textarea id="${id}" name="${field.name}" rows="${field.rows ?? 3}" spellcheck="false" autocapitalize="off" class="code"${attr('aria-describedby', described)}${
    field.error ? html` aria-invalid="true"` : ''
  }>${field.value ?? ''}</textarea>
  ${notes(id, field)}
</div>`;
}

export interface Checkbox extends FieldBase {
  checked: boolean;
  value?: string;
}

export function checkbox(field: Checkbox): SafeHtml {
  const id = field.id ?? fieldId(field.name);
  const described = describedBy(id, field);
  return html`<div class="field check${field.error ? ' has-error' : ''}">
  <input id="${id}" name="${field.name}" type="checkbox" value="${field.value ?? 'on'}"${flag('checked', field.checked)}${attr('aria-describedby', described)}${
    field.error ? html` aria-invalid="true"` : ''
  }>
  <label for="${id}">${field.label}</label>
  ${notes(id, field)}
</div>`;
}

export interface Select extends FieldBase {
  value?: string | undefined;
  options: readonly { value: string; label: string }[];
  required?: boolean;
}

export function select(field: Select): SafeHtml {
  const id = field.id ?? fieldId(field.name);
  const described = describedBy(id, field);
  return html`<div class="field${field.error ? ' has-error' : ''}">
  <label for="${id}">${field.label}</label>
  <select id="${id}" name="${field.name}"${attr('aria-describedby', described)}${flag('required', field.required)}${field.error ? html` aria-invalid="true"` : ''}>
    ${field.options.map((option) => html`<option value="${option.value}"${flag('selected', option.value === field.value)}>${option.label}</option>`)}
  </select>
  ${notes(id, field)}
</div>`;
}

/** A form-level error, announced when the page loads with it. */
export function formError(message: string | undefined): SafeHtml {
  return message ? html`<div class="alert error" role="alert">${message}</div>` : html``;
}
