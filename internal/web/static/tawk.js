// Loads the Tawk.to chat widget. The page puts everything in this script
// tag's data attributes (no inline script, so the CSP needs none): the
// widget URL and, for a signed-in user, their name, email and Secure Mode
// hash. Tawk_API.visitor is set at the top level, before the widget script
// is requested, as Tawk requires.
(function () {
	"use strict";
	var me = document.currentScript;
	if (!me) { return; }
	var d = me.dataset;
	var api = window.Tawk_API = window.Tawk_API || {};
	window.Tawk_LoadStart = new Date();
	if (d.email) {
		api.visitor = { name: d.name, email: d.email };
		if (d.hash) { api.visitor.hash = d.hash; }
	}
	if (d.endSession) {
		// The previous page signed out: end whatever chat the widget
		// resumes, so the next person at this browser starts afresh.
		var prev = api.onLoad;
		api.onLoad = function () {
			try {
				if (typeof api.endChat === "function") { api.endChat(); }
				if (typeof api.logout === "function") { api.logout(function () {}); }
			} catch (e) { /* the widget is optional */ }
			if (typeof prev === "function") { prev(); }
		};
	}
	var s = document.createElement("script");
	s.async = true;
	s.src = d.src;
	s.charset = "UTF-8";
	s.setAttribute("crossorigin", "*");
	var first = document.getElementsByTagName("script")[0];
	first.parentNode.insertBefore(s, first);
})();
