/* The department tree (/units/): "expand all / collapse all", and moving a unit by dragging it
 * onto another. Dragging is only a shortcut: it posts the same "move to…" form that works
 * without JavaScript (with the page's CSRF token) and the server checks everything again.
 *
 *   .unit-tree-box[data-csrf][data-move-url][data-confirm-move][data-error-text]
 *                                  the tree of a fleet admin; data-move-url is the move form
 *                                  of unit 0, the id is put in for the unit being moved
 *   .unit-node[data-path][data-movable]   a unit (its name is the link in its row); its
 *                                  id and its parent's are the last two ids of its path
 *   [data-tree-expand="open"|"close"]                the expand buttons
 */
(function () {
  "use strict";

  var OPEN_DELAY_MS = 700;

  function each(list, fn) {
    Array.prototype.forEach.call(list, fn);
  }

  function setupExpand() {
    var tools = document.querySelector(".unit-tree-tools");
    if (!tools) {
      return;
    }
    tools.classList.remove("d-none");
    each(tools.querySelectorAll("[data-tree-expand]"), function (button) {
      button.addEventListener("click", function () {
        var open = button.getAttribute("data-tree-expand") === "open";
        each(document.querySelectorAll(".unit-tree details"), function (details) {
          details.open = open;
        });
      });
    });
  }

  function showError(text) {
    var box = document.getElementById("flashes");
    if (!box) {
      window.alert(text);
      return;
    }
    var alert = document.createElement("div");
    alert.className = "alert alert-danger alert-dismissible fade show d-flex align-items-start gap-2";
    alert.setAttribute("role", "alert");
    var icon = document.createElement("i");
    icon.className = "bi bi-exclamation-octagon-fill flash-icon";
    icon.setAttribute("aria-hidden", "true");
    var body = document.createElement("div");
    body.className = "flash-text";
    body.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    close.setAttribute("aria-label", box.getAttribute("data-close-text") || "Close");
    alert.appendChild(icon);
    alert.appendChild(body);
    alert.appendChild(close);
    box.replaceChildren(alert);
    box.scrollIntoView({ block: "nearest" });
  }

  function pathIds(node) {
    return node.getAttribute("data-path").split("/").filter(Boolean);
  }

  function unitId(node) {
    return pathIds(node).slice(-1)[0];
  }

  function parentId(node) {
    return pathIds(node).slice(-2, -1)[0] || "";
  }

  function nameOf(node) {
    var link = rowOf(node).querySelector(".org-name a");
    return link ? link.textContent : "";
  }

  function rowOf(node) {
    var details = node.querySelector(":scope > details");
    return details ? details.querySelector(":scope > summary") : node.querySelector(":scope > .unit-row");
  }

  function setupDragAndDrop() {
    var box = document.querySelector(".unit-tree-box[data-csrf]");
    if (!box || !("draggable" in document.createElement("span"))) {
      return;
    }
    var hint = document.querySelector(".unit-dnd-hint");
    if (hint) {
      hint.classList.remove("d-none");
    }
    var dragged = null;
    var target = null;
    var openTimer = null;

    each(box.querySelectorAll(".unit-node[data-movable]"), function (node) {
      var row = rowOf(node);
      row.setAttribute("draggable", "true");
      each(row.querySelectorAll("a"), function (a) {
        a.setAttribute("draggable", "false");
      });
    });

    function nodeAt(element) {
      var row = element && element.closest ? element.closest(".unit-row") : null;
      return row && box.contains(row) ? row.closest(".unit-node") : null;
    }

    function canDrop(node) {
      return (
        dragged &&
        node &&
        node.getAttribute("data-path").indexOf(dragged.getAttribute("data-path")) !== 0 &&
        unitId(node) !== parentId(dragged)
      );
    }

    function setTarget(node) {
      if (target === node) {
        return;
      }
      window.clearTimeout(openTimer);
      if (target) {
        target.classList.remove("unit-drop-target");
      }
      target = node;
      if (target) {
        target.classList.add("unit-drop-target");
        var details = target.querySelector(":scope > details");
        if (details && !details.open) {
          openTimer = window.setTimeout(function () {
            details.open = true;
          }, OPEN_DELAY_MS);
        }
      }
    }

    box.addEventListener("dragstart", function (event) {
      var node = nodeAt(event.target);
      if (!node || !node.hasAttribute("data-movable")) {
        return;
      }
      dragged = node;
      node.classList.add("unit-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", nameOf(node));
    });

    box.addEventListener("dragover", function (event) {
      var node = nodeAt(event.target);
      if (canDrop(node)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        setTarget(node);
      } else {
        setTarget(null);
      }
    });

    box.addEventListener("dragend", function () {
      if (dragged) {
        dragged.classList.remove("unit-dragging");
      }
      setTarget(null);
      dragged = null;
    });

    box.addEventListener("drop", function (event) {
      var node = nodeAt(event.target);
      var moving = dragged;
      if (!canDrop(node) || !moving) {
        return;
      }
      event.preventDefault();
      setTarget(null);
      var names = { name: nameOf(moving), target: nameOf(node) };
      var question = (box.getAttribute("data-confirm-move") || "").replace(
        /\{(name|target)\}/g,
        function (_match, key) {
          return names[key];
        }
      );
      if (!window.confirm(question)) {
        return;
      }
      move(box, moving, node);
    });
  }

  function move(box, moving, target) {
    var form = new FormData();
    form.append("csrf_token", box.getAttribute("data-csrf"));
    form.append("parent_id", unitId(target));
    form.append("back", "tree");
    box.classList.add("unit-busy");
    var url = box.getAttribute("data-move-url").replace("/0/move", "/" + unitId(moving) + "/move");
    fetch(url, {
      method: "POST",
      body: form,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": box.getAttribute("data-csrf") },
    })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        return (json ? response.json() : Promise.resolve(null)).then(function (data) {
          return { data: data };
        });
      })
      .then(function (result) {
        var data = result.data;
        if (data && data.ok && data.location) {
          var next = new URL(data.location, window.location.href);
          var here = window.location;
          if (next.pathname === here.pathname && next.search === here.search) {
            here.hash = next.hash;
            here.reload();
          } else {
            window.location.assign(next.href);
          }
          return;
        }
        box.classList.remove("unit-busy");
        showError((data && data.error) || box.getAttribute("data-error-text"));
      })
      .catch(function () {
        box.classList.remove("unit-busy");
        showError(box.getAttribute("data-error-text"));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupExpand();
    setupDragAndDrop();
  });
})();
