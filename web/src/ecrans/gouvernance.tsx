// « Gouvernance » (`#/territoire/<doc>/gouvernance`): who decides what, and
// how (a text the territory publishes on its public page), and the
// governance bodies (COPIL, citizens' assembly, working groups…) with
// their members, their rhythm in words and their next meetings, which are
// in the agenda too. Organisers write the text, create bodies with a
// rhythm, and add or remove members among the territory's actors.
//
// Does not: expand meetings (sync-core does, `Driver.rendezVous`) or show
// members on the public page (never: only the bodies and their rhythm).

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { annoncer, Champ, ChampChoix, type Edition, Refuse } from "../formulaire";
import type { Agenda, Instance, Membre, TypeInstance } from "../genere/agenda";
import { Icone } from "../icones";
import { debutDuJour, idAleatoire, libelles, phrase, quand } from "../modele";
import { champsVides, EditeurRythme, erreursRythme, rythmeDesChamps } from "../rythme-editeur";
import { CHARGEMENT, RetourTerritoire, useTerritoire } from "./ecran-territoire";

/** How far ahead the next meetings are listed. */
const HORIZON = 120 * 86_400_000;

export function Gouvernance({ driver, doc }: { driver: Driver; doc: string }) {
  const { agenda, organisateur, editer, refus } = useTerritoire(driver, doc);
  if (!agenda) return CHARGEMENT;
  const debut = debutDuJour();
  const reunions = driver.rendezVous(doc, debut, debut + HORIZON).filter((r) => r.collection === "instances");
  const instances = Object.entries(agenda.instances)
    .filter(([, i]) => !i.supprime)
    .sort(([, a], [, b]) => a.nom.localeCompare(b.nom, "fr"));
  const regles = agenda.profil?.comment_cest_decide ?? "";
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Gouvernance</h1>
      <Refuse refus={refus} />
      <section class="carte" aria-labelledby="qui-decide">
        <h2 id="qui-decide">Qui décide quoi, et comment</h2>
        {regles ? <p class="description" data-testid="comment-cest-decide">{regles}</p> : <p>Pas encore écrit.</p>}
        {organisateur && <Regles actuel={regles} editer={editer} />}
      </section>
      {instances.length === 0 && <p>Aucune instance pour l'instant.</p>}
      <ul class="cartes">
        {instances.map(([id, i]) => (
          <UneInstance
            key={id}
            id={id}
            instance={i}
            agenda={agenda}
            prochaines={reunions.filter((r) => r.id === id).slice(0, 3).map((r) => r.occurrence.debut)}
            editer={organisateur ? editer : undefined}
          />
        ))}
      </ul>
      {organisateur && <NouvelleInstance editer={editer} />}
    </>
  );
}

function Regles({ actuel, editer }: { actuel: string; editer: Edition }) {
  const [texte, setTexte] = useState(actuel);
  const enregistrer = (event: Event) => {
    event.preventDefault();
    if (editer({ type: "modifier_profil", champs: { comment_cest_decide: texte.trim() } })) annoncer("Règles de décision enregistrées.");
  };
  return (
    <details>
      <summary>Écrire les règles de décision</summary>
      <form onSubmit={enregistrer} noValidate>
        <Champ id="comment-cest-decide" label="Vos règles de décision" aide="Publié sur la page publique du territoire.">
          <textarea rows={5} value={texte} onInput={(e) => setTexte(e.currentTarget.value)} />
        </Champ>
        <button type="submit">Enregistrer les règles</button>
      </form>
    </details>
  );
}

function UneInstance({
  id,
  instance: i,
  agenda,
  prochaines,
  editer,
}: {
  id: string;
  instance: Instance;
  agenda: Agenda;
  prochaines: string[];
  editer?: Edition;
}) {
  const l = libelles();
  const membres = i.membres.filter((m) => agenda.acteurs[m.acteur_id] && !agenda.acteurs[m.acteur_id].supprime);
  const definirMembres = (liste: Membre[]) => editer?.({ type: "modifier", collection: "instances", id, champs: { membres: liste } });
  return (
    <li class="carte" data-testid="instance">
      <h2>{i.nom}</h2>
      <p class="aide">{l.type_instance[i.type]}</p>
      {i.rythme && <p>{phrase(i.rythme)}</p>}
      {prochaines.length > 0 && (
        <p data-testid="prochaines-reunions">Prochaines réunions&nbsp;: {prochaines.map((d) => quand(d)).join(" ; ")}</p>
      )}
      <h3>Membres</h3>
      {membres.length === 0 ? (
        <p>Aucun membre indiqué.</p>
      ) : (
        <ul class="liste" data-testid="membres">
          {membres.map((m) => (
            <li key={m.acteur_id}>
              {agenda.acteurs[m.acteur_id].nom}
              {m.role && ` (${m.role})`}
              {editer && (
                <button
                  type="button"
                  class="discret"
                  aria-label={`Retirer ${agenda.acteurs[m.acteur_id].nom} de « ${i.nom} »`}
                  onClick={() => definirMembres(i.membres.filter((x) => x.acteur_id !== m.acteur_id))}
                >
                  <Icone nom="fermer" />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {editer && <AjouterMembre id={id} instance={i} agenda={agenda} ajouter={(m) => definirMembres([...i.membres, m])} />}
    </li>
  );
}

function AjouterMembre({
  id,
  instance,
  agenda,
  ajouter,
}: {
  id: string;
  instance: Instance;
  agenda: Agenda;
  ajouter: (m: Membre) => boolean | undefined;
}) {
  const candidats = Object.entries(agenda.acteurs)
    .filter(([aid, a]) => !a.supprime && !instance.membres.some((m) => m.acteur_id === aid))
    .sort(([, a], [, b]) => a.nom.localeCompare(b.nom, "fr"));
  const [acteur, setActeur] = useState(candidats[0]?.[0] ?? "");
  const [role, setRole] = useState("");
  if (candidats.length === 0) return <p class="aide">Ajoutez des acteurs au territoire pour en faire des membres.</p>;
  const choix = Object.fromEntries(candidats.map(([aid, a]) => [aid, a.nom]));
  return (
    <form
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (acteur && ajouter({ acteur_id: acteur, role: role.trim() })) setRole("");
      }}
    >
      <ChampChoix id={`membre-${id}`} label={`Ajouter un membre à « ${instance.nom} »`} valeur={acteur || candidats[0][0]} choix={choix} onChoix={setActeur} />
      <Champ id={`membre-role-${id}`} label="Son rôle (facultatif)">
        <input value={role} onInput={(e) => setRole(e.currentTarget.value)} />
      </Champ>
      <button type="submit" class="secondaire">
        Ajouter le membre
      </button>
    </form>
  );
}

function NouvelleInstance({ editer }: { editer: Edition }) {
  const l = libelles();
  const [nom, setNom] = useState("");
  const [type, setType] = useState<TypeInstance>("comite_pilotage");
  const [rythme, setRythme] = useState(champsVides);
  const [erreurs, setErreurs] = useState<Record<string, string>>({});
  const creer = (event: Event) => {
    event.preventDefault();
    const e: Record<string, string> = rythme.date ? erreursRythme(rythme) : {};
    if (!nom.trim()) e.nom = "Donnez un nom à l'instance.";
    setErreurs(e);
    if (Object.keys(e).length > 0) return;
    const valeur: Partial<Instance> = { nom: nom.trim(), type, membres: [], ...(rythme.date ? { rythme: rythmeDesChamps(rythme) } : {}) };
    if (editer({ type: "creer", collection: "instances", id: idAleatoire(), valeur })) {
      annoncer(`«\u00a0${nom.trim()}\u00a0» créée.`);
      setNom("");
      setRythme(champsVides());
    }
  };
  return (
    <details class="carte" data-testid="nouvelle-instance">
      <summary>Nouvelle instance</summary>
      <form onSubmit={creer} noValidate>
        <Champ id="instance-nom" label="Nom de l'instance" erreur={erreurs.nom}>
          <input value={nom} onInput={(e) => setNom(e.currentTarget.value)} />
        </Champ>
        <ChampChoix id="instance-type" label="Type" valeur={type} choix={l.type_instance} onChoix={setType} />
        <p class="aide">Ses réunions, si elles sont régulières (facultatif)&nbsp;:</p>
        <EditeurRythme champs={rythme} erreurs={erreurs} onChange={(c) => setRythme(c)} />
        <button type="submit">Créer l'instance</button>
      </form>
    </details>
  );
}
