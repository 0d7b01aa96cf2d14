/*
 * manage.js - the console's management actions: a topic's configuration,
 * its partition count and deleting its records (buttons beside the topic's
 * title), and a group's offset reset with a preview, deleting its offsets of a
 * topic, and deleting the group (a panel on the group's page).
 *
 * It is loaded before app.js and only defines functions; app.js calls two of
 * them while it renders: manageTopicActions(actions, topic) and
 * manageGroupPanel(group). Both are left out in read-only mode (app.js does not
 * call the first, the second returns null). Each action is one call of the JSON
 * API (docs/console.md, Management); what the broker refuses - a bad value, a
 * group with members, a missing permission - is shown as the broker says it,
 * never guessed here. The dialogs are built on demand, so index.html holds none
 * of them.
 *
 * A reset is two steps: Preview asks the API for the new offsets and the lag
 * each partition would have (dry_run), and Apply commits exactly those offsets,
 * partition by partition - not the rule again, so records appended in between
 * do not change what was agreed to. Apply is enabled only while the form still
 * says what was previewed.
 */

/* A modal dialog: title, body nodes, buttons [{label, cls, testid, run}] (run
   returns true to close it). Errors thrown by run are shown in the dialog. */
function manageDialog(testid, title, nodes, buttons) {
  const error = h("p", {class: "error", "data-testid": testid + "-error", hidden: true});
  const dlg = h("dialog", {class: "manage", "data-testid": testid});
  /* a dialog belongs to the view that opened it: leaving the view (the back
     button) closes it */
  const close = () => {
    window.removeEventListener("hashchange", close);
    if (dlg.open) dlg.close();
    dlg.remove();
  };
  window.addEventListener("hashchange", close);
  const row = h("div", {class: "buttons"},
    h("button", {type: "button", "data-testid": testid + "-cancel", onclick: close}, "Cancel"));
  for (const b of buttons) {
    const el = h("button", {type: "button", class: b.cls || null, "data-testid": b.testid}, b.label);
    el.addEventListener("click", async () => {
      error.hidden = true;
      el.disabled = true;
      try {
        if (await b.run()) close();
      } catch (x) {
        error.textContent = x.message;
        error.hidden = false;
      } finally {
        el.disabled = false;
      }
    });
    row.append(el);
  }
  dlg.append(h("div", {class: "form"}, h("h2", {}, title), ...nodes, error, row));
  dlg.addEventListener("close", close);
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

/* ---- a topic ---- */

function manageTopicActions(actions, t) {
  actions.append(
    h("button", {"data-testid": "edit-config-button", onclick: () => manageConfig(t)}, "Edit config"),
    h("button", {"data-testid": "add-partitions-button", onclick: () => manageAddPartitions(t)}, "Add partitions"));
  if (!t.internal)
    actions.append(h("button", {class: "danger", "data-testid": "delete-records-button",
      onclick: () => manageDeleteRecords(t)}, "Delete records"));
}

function manageConfig(t) {
  const current = new Map((t.config || []).map((c) => [c.name, c]));
  const name = h("input", {list: "manage-config-keys", autocomplete: "off", spellcheck: "false",
    "data-testid": "config-name"});
  const value = h("input", {autocomplete: "off", spellcheck: "false", "data-testid": "config-value-input"});
  const op = h("select", {"data-testid": "config-op"},
    h("option", {value: "set"}, "set to the value"),
    h("option", {value: "delete"}, "back to the default"));
  const now = h("p", {class: "muted", "data-testid": "config-current"});
  const show = () => {
    const c = current.get(name.value.trim());
    now.textContent = c ? `Now ${c.value} (${c.overridden ? "set on the topic" : "default"})` : "";
    value.disabled = op.value === "delete";
  };
  name.addEventListener("input", () => {
    const c = current.get(name.value.trim());
    if (c) value.value = c.value;
    show();
  });
  op.addEventListener("change", show);
  const send = async (validateOnly) => {
    const entry = {name: name.value.trim(), op: op.value};
    if (op.value === "set") entry.value = value.value;
    return api(`/api/v1/topics/${enc(t.name)}/config`,
      {json: {configs: [entry], validate_only: validateOnly}});
  };
  manageDialog("config-dialog", `Configuration of ${t.name}`, [
    h("datalist", {id: "manage-config-keys"}, [...current.keys()].map((k) => h("option", {value: k}))),
    h("label", {}, "Key", name), h("label", {}, "Change", op), h("label", {}, "Value", value), now,
    h("p", {class: "muted"}, "Checked and applied as IncrementalAlterConfigs: in force for the next append, roll and retention pass."),
  ], [
    {label: "Validate", testid: "config-validate", run: async () => { await send(true); toast("The value is valid"); return false; }},
    {label: "Apply", cls: "primary", testid: "config-apply", run: async () => {
      await send(false);
      toast(`${name.value.trim()} of ${t.name} changed`);
      route();
      return true;
    }},
  ]);
}

function manageAddPartitions(t) {
  const count = h("input", {type: "number", min: t.partition_count + 1, max: 100000,
    value: t.partition_count + 1, "data-testid": "partitions-count"});
  manageDialog("partitions-dialog", `Add partitions to ${t.name}`, [
    h("label", {}, `New partition count (now ${t.partition_count})`, count),
    h("p", {class: "muted"}, "Partitions can be added, never removed; keyed records of the new count may land in other partitions than before."),
  ], [{label: "Add", cls: "primary", testid: "partitions-apply", run: async () => {
    const r = await api(`/api/v1/topics/${enc(t.name)}/partitions`, {json: {count: Number(count.value)}});
    toast(`${t.name} has ${r.partition_count} partitions`);
    route();
    return true;
  }}]);
}

function manageDeleteRecords(t) {
  const part = h("select", {"data-testid": "records-partition"},
    h("option", {value: "all"}, "every partition"),
    t.partitions.map((p) => h("option", {value: p.partition},
      `${p.partition} (offsets ${p.log_start_offset} to ${p.end_offset})`)));
  const offset = h("input", {type: "number", min: -1, placeholder: "-1: all of them", "data-testid": "records-offset"});
  manageDialog("records-dialog", `Delete records of ${t.name}`, [
    h("label", {}, "Partition", part),
    h("label", {}, "Delete every record before offset", offset),
    h("p", {class: "muted"}, "The log start moves up to the offset (DeleteRecords): the records below it are gone for every reader."),
  ], [{label: "Delete", cls: "danger", testid: "records-apply", run: async () => {
    const off = offset.value === "" ? -1 : Number(offset.value);
    const parts = part.value === "all" ? t.partitions.map((p) => p.partition) : [Number(part.value)];
    const r = await api(`/api/v1/topics/${enc(t.name)}/delete-records`,
      {json: {partitions: parts.map((p) => ({partition: p, offset: off}))}});
    toast(`Records deleted: ${r.partitions.map((p) => `partition ${p.partition} starts at ${p.low_watermark}`).join(", ")}`);
    route();
    return true;
  }}]);
}

/* ---- a group ---- */

function manageGroupPanel(g) {
  if (app.readOnly) return null;
  const panel = h("div", {class: "panel manage-group", "data-testid": "manage-group"}, h("h2", {}, "Manage"));
  if (g.state !== "Empty" && g.state !== "Dead") {
    panel.append(h("p", {class: "note", "data-testid": "manage-busy"},
      `The group is ${g.state} with ${g.members.length} member${g.members.length === 1 ? "" : "s"}: ` +
      "its offsets can be reset or deleted, and the group deleted, once its consumers stop (as Kafka requires)."));
    return panel;
  }
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  panel.append(manageResetForm(g, topics));
  const row = h("div", {class: "inline-form"});
  for (const topic of topics)
    row.append(h("button", {"data-testid": "delete-offsets-button", "data-topic": topic,
      onclick: () => manageDeleteOffsets(g, topic)}, `Delete offsets of ${topic}`));
  row.append(h("button", {class: "danger", "data-testid": "delete-group-button",
    onclick: () => manageDeleteGroup(g)}, "Delete group"));
  panel.append(row);
  return panel;
}

/* The reset's request from the form, or throws with what is missing. */
function manageResetBody(f) {
  const body = {topic: f.topic.value.trim(), to: f.to.value};
  const v = f.value.value.trim();
  if (f.partitions.value.trim())
    body.partitions = f.partitions.value.split(",").map((x) => Number(x.trim()));
  if (f.to.value === "offset") body.offset = Number(v);
  if (f.to.value === "shift") body.by = Number(v);
  /* a date without a zone is read in the zone the page's switch shows, as the
     message browser reads it; anything else goes as typed, in -o @'s syntax */
  if (f.to.value === "timestamp")
    body.time = /^\d{4}-/.test(v) && !/(Z|[-+]\d{2}:\d{2})$/.test(v) && !isNaN(parseTime(v)) ? String(parseTime(v)) : v;
  if (["offset", "shift", "timestamp"].includes(f.to.value) && !v)
    throw new Error(f.to.value === "timestamp" ? "Give a time: 2024-05-01T12:00:00Z, -15m, or ms since the epoch"
      : f.to.value === "shift" ? "Give N to shift by (negative: back)" : "Give an offset");
  return body;
}

function manageResetForm(g, topics) {
  const f = {
    topic: h("input", {list: "manage-reset-topics", value: topics[0] || "", "data-testid": "reset-topic"}),
    partitions: h("input", {placeholder: "all", class: "w-value", "data-testid": "reset-partitions"}),
    to: h("select", {"data-testid": "reset-to"}, [["earliest", "earliest"], ["latest", "latest"],
      ["offset", "an offset"], ["timestamp", "a time"], ["shift", "shifted by N"]].map(([v, l]) => h("option", {value: v}, l))),
    value: h("input", {class: "w-value", placeholder: "offset, time or N", "data-testid": "reset-value"}),
  };
  const preview = h("div", {class: "manage-preview", "data-testid": "reset-preview"});
  const apply = h("button", {class: "primary", disabled: true, "data-testid": "reset-apply"}, "Apply");
  let previewed = null; /* the request that commits what the preview shows */
  const stale = () => { apply.disabled = true; previewed = null; };
  for (const el of Object.values(f)) el.addEventListener("input", stale);
  const previewBtn = h("button", {"data-testid": "reset-preview-button"}, "Preview");
  previewBtn.addEventListener("click", async () => {
    stale();
    try {
      const body = manageResetBody(f);
      const r = await api(`/api/v1/groups/${enc(g.group)}/offsets`, {json: Object.assign({dry_run: true}, body)});
      preview.replaceChildren(manageResetTable(r));
      /* the offsets shown, not the rule again: the log may have grown since */
      previewed = {topic: r.topic, to: "offset",
        partitions: r.offsets.map((o) => ({partition: o.partition, offset: o.offset}))};
      apply.disabled = false;
    } catch (x) {
      preview.replaceChildren(h("p", {class: "error", "data-testid": "reset-error"}, x.message));
    }
  });
  apply.addEventListener("click", async () => {
    if (!previewed) return;
    apply.disabled = true;
    try {
      const r = await api(`/api/v1/groups/${enc(g.group)}/offsets`, {json: previewed});
      toast(`Reset ${r.offsets.length} partition${r.offsets.length === 1 ? "" : "s"} of ${r.topic}`);
      route();
    } catch (x) {
      preview.replaceChildren(h("p", {class: "error", "data-testid": "reset-error"}, x.message));
    }
  });
  return h("div", {class: "manage-reset"},
    h("h3", {}, "Reset offsets"),
    h("div", {class: "inline-form"},
      h("datalist", {id: "manage-reset-topics"}, topics.map((t) => h("option", {value: t}))),
      h("label", {}, "Topic", f.topic), h("label", {}, "Partitions", f.partitions),
      h("label", {}, "To", f.to), h("label", {}, "Offset, time or N", f.value), previewBtn, apply),
    preview);
}

function manageResetTable(r) {
  const rows = r.offsets.map((o) => h("tr", {"data-testid": "preview-row", "data-partition": o.partition},
    h("td", {class: "num"}, o.partition),
    h("td", {class: "num"}, o.committed === null ? "none" : fmtNum(o.committed)),
    h("td", {class: "num", "data-testid": "preview-offset"}, fmtNum(o.offset)),
    h("td", {class: "num"}, fmtNum(o.end_offset)),
    h("td", {class: "num", "data-testid": "preview-lag"}, fmtNum(o.lag))));
  return table([["Partition", "num"], ["Committed", "num"], ["New offset", "num"], ["End offset", "num"],
    ["Lag after", "num"]], rows, "No partitions.", {"data-testid": "preview-table"});
}

function manageDeleteOffsets(g, topic) {
  manageDialog("offsets-dialog", `Delete ${g.group}'s offsets of ${topic}`, [
    h("p", {}, "The group's committed offsets of this topic are deleted (OffsetDelete): its next consumer starts where auto.offset.reset says."),
  ], [{label: "Delete offsets", cls: "danger", testid: "offsets-apply", run: async () => {
    const r = await api(`/api/v1/groups/${enc(g.group)}/offsets/${enc(topic)}`, {method: "DELETE"});
    toast(`Deleted ${r.deleted} committed offset${r.deleted === 1 ? "" : "s"} of ${topic}`);
    route();
    return true;
  }}]);
}

function manageDeleteGroup(g) {
  manageDialog("group-dialog", `Delete group ${g.group}`, [
    h("p", {}, "The group and all its committed offsets are deleted (DeleteGroups)."),
  ], [{label: "Delete group", cls: "danger", testid: "group-delete-apply", run: async () => {
    await api(`/api/v1/groups/${enc(g.group)}`, {method: "DELETE"});
    toast(`Deleted group ${g.group}`);
    location.hash = "#/groups";
    return true;
  }}]);
}
