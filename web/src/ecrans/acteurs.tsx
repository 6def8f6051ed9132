// « Acteurs » (`#/territoire/<doc>/acteurs`): the territory's alliance of
// local actors by category, with the « 4 Fantastiques » summary (élus,
// agents territoriaux, État, acteurs socio-économiques) saying which
// family is missing. Organisers add, edit and remove actors (no account
// needed) and keep their private contacts in the organisers' notebook,
// which residents' devices never receive; residents see the actors shown
// publicly, never a contact.
//
// Does not: decide an actor's family (sync-core's `Acteur::famille`,
// through `Driver.famillesActeurs`), or who receives the notebook (the
// relay does, from the territory's listing).

import { useState } from "preact/hooks";
import { Confirmation } from "../confirmation";
import type { Driver } from "../driver";
import { annoncer, Champ, ChampChoix, type Edition, Refuse } from "../formulaire";
import type { Acteur, Agenda, Categorie, ContactPrive, Famille4F, RolePorteur } from "../genere/agenda";
import { Icone } from "../icones";
import { idAleatoire, libelles } from "../modele";
import { CHARGEMENT, RetourTerritoire, useTerritoire } from "./ecran-territoire";

export function Acteurs({ driver, doc }: { driver: Driver; doc: string }) {
  const { agenda, organisateur, editer, refus, tenter } = useTerritoire(driver, doc);
  if (!agenda) return CHARGEMENT;
  const carnet = organisateur ? driver.carnet(doc) : undefined;
  const familles = driver.famillesActeurs(doc);
  const l = libelles();
  const acteurs = Object.entries(agenda.acteurs)
    .filter(([, a]) => organisateur || a.visible_publiquement)
    .sort(([, a], [, b]) => a.nom.localeCompare(b.nom, "fr"));
  const parFamille = new Map<Famille4F, number>();
  for (const [id] of acteurs) {
    const f = familles[id];
    if (f) parFamille.set(f, (parFamille.get(f) ?? 0) + 1);
  }
  const toutes = Object.keys(l.famille_4f) as Famille4F[];
  const manquantes = toutes.filter((f) => !parFamille.get(f));
  const categories = (Object.keys(l.categorie) as Categorie[]).filter((c) => acteurs.some(([, a]) => a.categorie === c));

  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Acteurs</h1>
      <p>L'alliance des acteurs locaux du territoire&nbsp;: habitants, élus, agents, associations, entreprises…</p>
      <section class="carte" aria-labelledby="quatre-fantastiques" data-testid="quatre-fantastiques">
        <h2 id="quatre-fantastiques">Les «&nbsp;4 Fantastiques&nbsp;»</h2>
        <ul>
          {toutes.map((f) => (
            <li key={f}>
              {l.famille_4f[f]}&nbsp;: {parFamille.get(f) ?? 0}
              {!parFamille.get(f) && <strong> (manquant)</strong>}
            </li>
          ))}
        </ul>
        <p>
          {manquantes.length === 0
            ? "Les quatre familles sont réunies."
            : `Il manque encore\u00a0: ${manquantes.map((f) => l.famille_4f[f].toLowerCase()).join(", ")}.`}
        </p>
      </section>
      <Refuse refus={refus} />
      {organisateur && (
        <p class="note" data-testid="note-carnet">
          Les coordonnées sont rangées dans le carnet des organisateurs, que les appareils des habitants ne reçoivent
          jamais. Celles saisies avec une version précédente d'Essaim restent dans l'historique du territoire, que chaque
          appareil garde.
        </p>
      )}
      {acteurs.length === 0 && <p>Aucun acteur pour l'instant.</p>}
      {categories.map((c) => (
        <section key={c} aria-labelledby={`categorie-${c}`}>
          <h2 id={`categorie-${c}`}>{l.categorie[c]}</h2>
          <ul class="cartes">
            {acteurs
              .filter(([, a]) => a.categorie === c)
              .map(([id, a]) => (
                <UnActeur
                  key={id}
                  id={id}
                  agenda={agenda}
                  acteur={a}
                  famille={familles[id]}
                  contact={carnet?.contacts[id]}
                  editer={organisateur ? editer : undefined}
                  definirContact={organisateur ? (contact) => tenter(() => driver.definirContact(doc, id, contact)) : undefined}
                />
              ))}
          </ul>
        </section>
      ))}
      {organisateur && <NouvelActeur editer={editer} />}
    </>
  );
}

/** The fields of the actor form. */
interface Fiche {
  nom: string;
  categorie: Categorie;
  role: string;
  visible: boolean;
}

function ChampsActeur({ prefixe, f, setF, erreur }: { prefixe: string; f: Fiche; setF: (f: Fiche) => void; erreur?: string }) {
  const l = libelles();
  return (
    <>
      <Champ id={`${prefixe}-nom`} label="Nom" erreur={erreur}>
        <input value={f.nom} onInput={(e) => setF({ ...f, nom: e.currentTarget.value })} />
      </Champ>
      <ChampChoix
        id={`${prefixe}-categorie`}
        label="Catégorie"
        valeur={f.categorie}
        choix={l.categorie}
        onChoix={(categorie) => setF({ ...f, categorie })}
      />
      <Champ id={`${prefixe}-role`} label="Rôle (facultatif)" aide="Par exemple : adjointe à la transition, trésorier">
        <input value={f.role} onInput={(e) => setF({ ...f, role: e.currentTarget.value })} />
      </Champ>
      <p class="champ case">
        <label>
          <input type="checkbox" checked={f.visible} onChange={(e) => setF({ ...f, visible: e.currentTarget.checked })} />{" "}
          Visible des habitants et sur la page publique
        </label>
      </p>
    </>
  );
}

function valeurDe(f: Fiche): Partial<Acteur> {
  return { nom: f.nom.trim(), categorie: f.categorie, roles: f.role.trim() ? [f.role.trim()] : [], visible_publiquement: f.visible };
}

function NouvelActeur({ editer }: { editer: Edition }) {
  const vide: Fiche = { nom: "", categorie: "habitant", role: "", visible: true };
  const [f, setF] = useState(vide);
  const [erreur, setErreur] = useState<string>();
  const ajouter = (event: Event) => {
    event.preventDefault();
    if (!f.nom.trim()) return setErreur("Indiquez le nom de l'acteur.");
    setErreur(undefined);
    if (editer({ type: "creer", collection: "acteurs", id: idAleatoire(), valeur: valeurDe(f) })) {
      annoncer(`«\u00a0${f.nom.trim()}\u00a0» ajouté aux acteurs.`);
      setF(vide);
    }
  };
  return (
    <details class="carte" data-testid="nouvel-acteur">
      <summary>Ajouter un acteur</summary>
      <form onSubmit={ajouter} noValidate>
        <ChampsActeur prefixe="nouvel-acteur" f={f} setF={setF} erreur={erreur} />
        <button type="submit">Ajouter l'acteur</button>
      </form>
    </details>
  );
}

function UnActeur({
  id,
  agenda,
  acteur,
  famille,
  contact,
  editer,
  definirContact,
}: {
  id: string;
  agenda: Agenda;
  acteur: Acteur;
  famille?: Famille4F;
  contact?: ContactPrive;
  editer?: Edition;
  definirContact?: (contact: ContactPrive) => boolean;
}) {
  const l = libelles();
  const [supprimer, setSupprimer] = useState(false);
  // « Qui porte quoi »: the actions this actor carries, with the role.
  const porte = Object.entries(agenda.actions)
    .filter(([, a]) => !a.supprime)
    .flatMap(([aid, a]) => a.porteurs.filter((p) => p.acteur_id === id).map((p) => ({ aid, titre: a.titre, role: p.role })));
  return (
    <li class="carte" data-testid="acteur">
      <h3>{acteur.nom}</h3>
      <p class="aide">
        {[acteur.roles.join(", "), famille ? `4 Fantastiques\u00a0: ${l.famille_4f[famille]}` : ""].filter(Boolean).join(" · ")}
        {!acteur.visible_publiquement && " · non visible des habitants"}
      </p>
      {porte.length > 0 && (
        <p data-testid="porte">
          Porte&nbsp;:{" "}
          {porte.map((p, i) => (
            <span key={`${p.aid}-${p.role}`}>
              {i > 0 && ", "}
              {p.titre} ({l.role_porteur[p.role].toLowerCase()})
            </span>
          ))}
        </p>
      )}
      {contact && (
        <dl class="resume" data-testid="contact">
          {contact.email && (
            <div>
              <dt>E-mail</dt>
              <dd>
                <a href={`mailto:${contact.email}`}>{contact.email}</a>
              </dd>
            </div>
          )}
          {contact.tel && (
            <div>
              <dt>Téléphone</dt>
              <dd>
                <a href={`tel:${contact.tel.replace(/\s/g, "")}`}>{contact.tel}</a>
              </dd>
            </div>
          )}
          {contact.adresse && (
            <div>
              <dt>Adresse</dt>
              <dd>{contact.adresse}</dd>
            </div>
          )}
          {contact.notes && (
            <div>
              <dt>Notes</dt>
              <dd>{contact.notes}</dd>
            </div>
          )}
        </dl>
      )}
      {editer && definirContact && (
        <details>
          <summary>Modifier «&nbsp;{acteur.nom}&nbsp;»</summary>
          <ModifierActeur id={id} acteur={acteur} contact={contact} editer={editer} definirContact={definirContact} />
          <Porter id={id} agenda={agenda} editer={editer} />
          <button type="button" class="secondaire danger" onClick={() => setSupprimer(true)}>
            <Icone nom="supprimer" /> Retirer cet acteur
          </button>
        </details>
      )}
      {supprimer && editer && (
        <Confirmation
          titre={`Retirer «\u00a0${acteur.nom}\u00a0»\u00a0?`}
          texte="L'acteur disparaît de la liste des acteurs du territoire."
          confirmer="Retirer l'acteur"
          danger
          repondre={(oui) => {
            setSupprimer(false);
            if (oui && editer({ type: "supprimer", collection: "acteurs", id })) annoncer(`«\u00a0${acteur.nom}\u00a0» retiré.`);
          }}
        />
      )}
    </li>
  );
}

function ModifierActeur({
  id,
  acteur,
  contact,
  editer,
  definirContact,
}: {
  id: string;
  acteur: Acteur;
  contact?: ContactPrive;
  editer: Edition;
  definirContact: (contact: ContactPrive) => boolean;
}) {
  const [f, setF] = useState<Fiche>({
    nom: acteur.nom,
    categorie: acteur.categorie,
    role: acteur.roles.join(", "),
    visible: acteur.visible_publiquement,
  });
  const [c, setC] = useState<ContactPrive>({
    email: contact?.email ?? "",
    tel: contact?.tel ?? "",
    adresse: contact?.adresse ?? "",
    notes: contact?.notes ?? "",
  });
  const [erreur, setErreur] = useState<string>();
  const enregistrer = (event: Event) => {
    event.preventDefault();
    if (!f.nom.trim()) return setErreur("Indiquez le nom de l'acteur.");
    setErreur(undefined);
    const champs = valeurDe(f);
    if (!editer({ type: "modifier", collection: "acteurs", id, champs })) return;
    const change = (["email", "tel", "adresse", "notes"] as const).some((k) => (c[k] ?? "") !== (contact?.[k] ?? ""));
    if (change && !definirContact(c)) return;
    annoncer(`«\u00a0${f.nom.trim()}\u00a0» enregistré.`);
  };
  const champ = (k: keyof ContactPrive, label: string, type = "text") => (
    <Champ id={`contact-${k}-${id}`} label={label}>
      {k === "notes" ? (
        <textarea rows={3} value={c[k] ?? ""} onInput={(e) => setC({ ...c, [k]: e.currentTarget.value })} />
      ) : (
        <input type={type} value={c[k] ?? ""} onInput={(e) => setC({ ...c, [k]: e.currentTarget.value })} />
      )}
    </Champ>
  );
  return (
    <form onSubmit={enregistrer} noValidate>
      <ChampsActeur prefixe={`acteur-${id}`} f={f} setF={setF} erreur={erreur} />
      <fieldset>
        <legend>Coordonnées (carnet des organisateurs)</legend>
        {champ("email", "E-mail", "email")}
        {champ("tel", "Téléphone", "tel")}
        {champ("adresse", "Adresse")}
        {champ("notes", "Notes")}
      </fieldset>
      <button type="submit">Enregistrer</button>
    </form>
  );
}

/** « Qui porte quoi »: makes actor `id` a carrier of an action, with a role. */
function Porter({ id, agenda, editer }: { id: string; agenda: Agenda; editer: Edition }) {
  const l = libelles();
  const actions = Object.entries(agenda.actions)
    .filter(([, a]) => !a.supprime)
    .sort(([, a], [, b]) => a.titre.localeCompare(b.titre, "fr"));
  const [action, setAction] = useState(actions[0]?.[0] ?? "");
  const [role, setRole] = useState<RolePorteur>("pilote");
  if (actions.length === 0) return null;
  const porter = (event: Event) => {
    event.preventDefault();
    const a = agenda.actions[action];
    if (!a) return;
    const porteurs = [...a.porteurs.filter((p) => !(p.acteur_id === id && p.role === role)), { acteur_id: id, role }];
    if (editer({ type: "modifier", collection: "actions", id: action, champs: { porteurs } }))
      annoncer(`Porteur de «\u00a0${a.titre}\u00a0» enregistré.`);
  };
  return (
    <form onSubmit={porter} noValidate>
      <ChampChoix
        id={`porter-action-${id}`}
        label="Porte l'action"
        valeur={action}
        choix={Object.fromEntries(actions.map(([aid, a]) => [aid, a.titre]))}
        onChoix={setAction}
      />
      <ChampChoix id={`porter-role-${id}`} label="Avec le rôle" valeur={role} choix={l.role_porteur} onChoix={setRole} />
      <button type="submit" class="secondaire">
        Enregistrer ce rôle
      </button>
    </form>
  );
}
