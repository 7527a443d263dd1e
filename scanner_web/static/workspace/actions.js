/* The workspace's action pages (scanner_web/workspace/actions.py): each page names its action on its form
 * (``data-action``); this module starts that page's script. Every action builds its statement here, has the server
 * draft it, shows it in plain words, and signs it on this device (core.js). */
import {commissionPage, transformPage} from "./actions-make.js";
import {inspectPage, receivePage, recallPage, sellPage, shipPage} from "./actions-custody.js";
import {complaintsPage} from "./actions-complaints.js";
import {fill, say, text} from "./actions-common.js";

const PAGES = {
  commission: commissionPage, receive: receivePage, ship: shipPage, transform: transformPage, sell: sellPage,
  inspect: inspectPage, recall: recallPage, complaints: complaintsPage,
};

const form = document.querySelector("[data-action]");
if (form) {
  const status = document.querySelector(".act-status");
  say(status, text.status.loading);
  PAGES[form.dataset.action](form, status)
    .then(() => {
      if (status.textContent === text.status.loading) say(status, "");
      form.dataset.ready = "true";
    })
    .catch((error) => say(status, fill(text.status.failed, {message: error.message || String(error)}), true));
}
