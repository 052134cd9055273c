// Pictor dashboard: small progressive enhancements. Every page works without this script.
(function () {
  'use strict';

  function paragraph(text, className) {
    const p = document.createElement('p');
    if (className) p.className = className;
    p.textContent = text;
    return p;
  }

  // Tools → Purge Single Asset: the exact URL that will be purged, shown as it is typed. The server
  // applies the same rule (WHATWG URL parsing percent-encodes unsafe characters; query and fragment dropped).
  const purgeForm = document.querySelector('.purge-form');
  if (purgeForm) {
    const input = purgeForm.querySelector('input[name="url"]');
    const prefix = purgeForm.querySelector('input[name="prefix"]');
    const preview = purgeForm.querySelector('[data-purge-preview]');
    let timer;
    const show = function () {
      const raw = input.value.trim();
      const children = [];
      if (raw === '') {
        children.push(paragraph('The exact URL that will be purged is shown here as you type.', 'muted'));
      } else {
        let url;
        try {
          url = new URL(raw);
        } catch {
          url = undefined;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
          children.push(paragraph('Enter a full http(s) URL, e.g. https://images.example.com/image%20file.png.', 'error'));
        } else {
          let exact = url.origin + url.pathname;
          const line = paragraph(prefix && prefix.checked ? 'Will purge everything under: ' : 'Will purge exactly: ');
          if (prefix && prefix.checked && !exact.endsWith('/')) exact += '/';
          const code = document.createElement('code');
          code.className = 'wrap';
          code.setAttribute('data-exact-url', '');
          code.textContent = exact;
          line.appendChild(code);
          children.push(line);
          const typed = raw.split(/[?#]/)[0];
          if (typed !== url.origin + url.pathname) {
            children.push(paragraph('Written as it will be purged: unsafe characters are percent-encoded (a space becomes %20).', 'hint'));
          }
          if (url.search || url.hash) {
            children.push(paragraph('The query and fragment (' + url.search + url.hash + ') are ignored: every derivative of the asset is purged.', 'hint'));
          }
        }
      }
      preview.replaceChildren.apply(preview, children);
    };
    const later = function () {
      clearTimeout(timer);
      timer = setTimeout(show, 150);
    };
    input.addEventListener('input', later);
    if (prefix) prefix.addEventListener('change', show);
    if (input.value) show();
  }

  // A purge's status, polled until it is no longer pending (the panel is aria-live: the outcome is announced).
  const panel = document.querySelector('[data-purge-status]');
  if (panel && panel.getAttribute('data-status') === 'pending') {
    const update = function (summary) {
      panel.querySelectorAll('[data-field]').forEach(function (element) {
        const value = summary[element.getAttribute('data-field')];
        if (typeof value !== 'string') return;
        element.textContent = value;
        if (element.tagName === 'P') element.hidden = value === '';
      });
      panel.setAttribute('data-status', summary.status);
    };
    const poll = function (delay) {
      fetch(panel.getAttribute('data-purge-status'), { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' })
        .then(function (response) {
          if (response.status === 401) throw new Error('signed out');
          return response.ok ? response.json() : undefined;
        })
        .then(
          function (summary) {
            if (summary) update(summary);
            if (!summary || !summary.done) setTimeout(poll, delay, Math.min(delay * 1.5, 2000));
          },
          function (error) {
            if (error && error.message === 'signed out') {
              panel.appendChild(paragraph('Your session has ended: sign in again to see the status.', 'alert error'));
            } else {
              setTimeout(poll, 2000, 2000);
            }
          },
        );
    };
    poll(150);
  }

  // Copy buttons: the Clipboard API, else the text is selected for Ctrl+C / ⌘C.
  document.querySelectorAll('[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      const id = button.getAttribute('data-copy');
      const target = document.getElementById(id);
      const status = document.querySelector('[data-copy-status="' + id + '"]');
      const say = function (text) {
        if (status) status.textContent = text;
      };
      const select = function () {
        const range = document.createRange();
        range.selectNodeContents(target);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        say('Selected: press Ctrl+C (⌘C on a Mac) to copy.');
      };
      if (!navigator.clipboard || !window.isSecureContext) return select();
      navigator.clipboard.writeText(target.textContent).then(function () {
        say('Copied to the clipboard.');
      }, select);
    });
  });

  // Source form: only the chosen type's settings (the server reads only those anyway).
  const sourceForm = document.querySelector('[data-source-form]');
  if (sourceForm) {
    const type = sourceForm.querySelector('select[name="type"]');
    const secure = sourceForm.querySelector('input[name="secure_url_enabled"]');
    const showType = function () {
      sourceForm.querySelectorAll('[data-type-fields]').forEach(function (fieldset) {
        const chosen = fieldset.getAttribute('data-type-fields') === type.value;
        fieldset.hidden = !chosen;
        fieldset.disabled = !chosen;
      });
      // Web Proxy URLs are always signed.
      if (secure) {
        if (type.value === 'webproxy') secure.checked = true;
        secure.disabled = type.value === 'webproxy';
      }
    };
    type.addEventListener('change', showType);
    showType();
  }
})();
