// TicketFlow progressive enhancement. Every form works without this file;
// it adds local times, confirmation dialogs, a client-side size check and
// upload progress for attachments, and ends the Tawk.to chat on sign-out.
// Live updates and the support chat are in live.js.
(function () {
	"use strict";

	function localTimes(root) {
		root.querySelectorAll("time[datetime]").forEach(function (el) {
			var d = new Date(el.getAttribute("datetime"));
			if (!isNaN(d)) {
				el.title = el.textContent;
				el.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
			}
		});
	}

	function confirms(root) {
		root.querySelectorAll("form[data-confirm]").forEach(function (form) {
			form.addEventListener("submit", function (ev) {
				if (!window.confirm(form.getAttribute("data-confirm"))) {
					ev.preventDefault();
				}
			});
		});
	}

	// Sign-out: end the Tawk.to chat (if the widget loaded) before the
	// session goes, so the next person here does not inherit it.
	function logout(root) {
		root.querySelectorAll("form[data-logout]").forEach(function (form) {
			form.addEventListener("submit", function () {
				var api = window.Tawk_API;
				try {
					if (api && typeof api.endChat === "function") { api.endChat(); }
					if (api && typeof api.logout === "function") { api.logout(function () {}); }
				} catch (e) { /* the widget is optional */ }
			});
		});
	}

	function formatBytes(n) {
		if (n < 1024) { return n + " B"; }
		var units = ["KB", "MB", "GB"], i = -1;
		do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
		return n.toFixed(1).replace(/\.0$/, "") + " " + units[i];
	}

	// checkFiles returns the problem with the chosen files, or "".
	function checkFiles(form, input) {
		var max = parseInt(form.getAttribute("data-max-bytes"), 10);
		var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
		var files = input.files || [];
		if (maxFiles && files.length > maxFiles) {
			return "At most " + maxFiles + " files per " + (form.getAttribute("data-files-per") || "ticket") + ".";
		}
		for (var i = 0; i < files.length; i++) {
			if (files[i].size > max) {
				return "“" + files[i].name + "” is " + formatBytes(files[i].size) + "; each file must be at most " + formatBytes(max) + ".";
			}
			if (files[i].size === 0) {
				return "“" + files[i].name + "” is empty.";
			}
		}
		return "";
	}

	function showFileError(input, msg) {
		var err = document.getElementById(input.id + "-error");
		if (!err) { return; }
		err.textContent = msg;
		err.hidden = !msg;
		if (msg) { input.setAttribute("aria-invalid", "true"); } else { input.removeAttribute("aria-invalid"); }
	}

	// uploads sends multipart forms with XMLHttpRequest so that progress can
	// be shown. The request is the same POST the form makes; the server's
	// answer is followed the same way: a redirect lands on the new page,
	// an error page replaces the form (with the user's text kept).
	function uploads(root) {
		root.querySelectorAll("form[data-upload]").forEach(function (form) {
			var input = form.querySelector("input[type=file]");
			if (!input) { return; }
			input.addEventListener("change", function () { showFileError(input, checkFiles(form, input)); });
			form.addEventListener("submit", function (ev) {
				var problem = checkFiles(form, input);
				showFileError(input, problem);
				if (problem) {
					ev.preventDefault();
					input.focus();
					return;
				}
				if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) { return; }
				ev.preventDefault();
				send(form);
			});
		});
	}

	function send(form) {
		var box = form.querySelector(".upload-progress");
		var bar = form.querySelector("progress");
		var pct = form.querySelector(".upload-percent");
		var button = form.querySelector("button[type=submit]");
		var xhr = new XMLHttpRequest();
		xhr.open("POST", form.action);
		xhr.upload.addEventListener("progress", function (e) {
			if (e.lengthComputable && bar) {
				var p = Math.round(e.loaded / e.total * 100);
				bar.value = p;
				if (pct) { pct.textContent = p + "%"; }
			}
		});
		xhr.addEventListener("load", function () {
			var done = new URL(xhr.responseURL || form.action, location.href);
			if (xhr.status === 200 && done.pathname !== new URL(form.action, location.href).pathname) {
				location.assign(done.href);
				return;
			}
			replaceMain(xhr.responseText);
		});
		xhr.addEventListener("error", function () {
			if (box) { box.hidden = true; }
			if (button) { button.disabled = false; }
			var input = form.querySelector("input[type=file]");
			if (input) { showFileError(input, "The upload failed. Check your connection and try again."); }
		});
		if (box) { box.hidden = false; }
		if (button) { button.disabled = true; }
		form.setAttribute("data-sending", "xhr");
		xhr.send(new FormData(form));
	}

	// replaceMain swaps in the <main> of a page the server answered with
	// (a form with errors, or an error page).
	function replaceMain(html) {
		var doc = new DOMParser().parseFromString(html, "text/html");
		var fresh = doc.querySelector("main");
		var main = document.querySelector("main");
		if (!fresh || !main) { return; }
		main.innerHTML = fresh.innerHTML;
		document.title = doc.title;
		enhance(main);
		var first = main.querySelector("[aria-invalid=true], .alert");
		(first || main).focus();
	}

	function enhance(root) {
		localTimes(root);
		confirms(root);
		uploads(root);
	}

	// live.js (the event stream) formats what it inserts the same way.
	window.TicketFlow = { localTimes: localTimes };

	function start() {
		enhance(document);
		logout(document);
		document.documentElement.classList.add("js");
	}

	if (document.readyState === "loading") {
		document.addEventListener("DOMContentLoaded", start);
	} else {
		start();
	}
})();
