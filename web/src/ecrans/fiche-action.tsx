// An action's page: a summary first (title, when in words, where with a
// map link by address, state, themes, participation, description), then
// its needs and volunteers, then its next rendez-vous. An organiser also
// sees concurrent edits to settle and a "Modifier" link to the edit screen
// (action-modifier.tsx); nothing here edits the action's fields.

import type { ComponentChildren } from "preact";
import type { Driver } from "../driver";
import { Conflits } from "../conflits";
import { appliquer, type Edition, Refuse, useRefus } from "../formulaire";
import type { Action, Agenda } from "../genere/agenda";
import { Icone, type NomIcone } from "../icones";
import { debutDuJour, libelles, phrase } from "../modele";
import { PastilleTheme } from "../themes";
import { Besoins } from "./action-besoins";
import { Prochains } from "./action-occurrences";
import { Reprendre } from "./action-reprendre";

/** How far ahead the page lists rendez-vous. */
const HORIZON = 90 * 86_400_000;

export function FicheAction({ driver, doc, id }: { driver: Driver; doc: string; id: string }) {
  const agenda = driver.agenda(doc);
  const action = agenda?.actions[id];
  const { refus, tenter } = useRefus();
  if (!agenda || !driver.hasDocument(doc)) return <p>Chargement de l'action…</p>;
  if (!action || action.supprime) return <p role="alert">Cette action n'existe pas ou a été supprimée.</p>;
  const editer: Edition = (edit) => tenter(() => appliquer(driver, doc, edit));
  const organisateur = driver.peutModifier(doc);
  const debutJour = debutDuJour();
  const prochains = driver
    .rendezVous(doc, debutJour, debutJour + HORIZON)
    .filter((r) => r.collection === "actions" && r.id === id);
  return (
    <article class="fiche">
      <p class="fiche-barre">
        <a href={`#/territoire/${doc}`} class="retour">
          <Icone nom="retour" /> Retour à l'agenda
        </a>
        {organisateur && (
          <a href={`#/territoire/${doc}/action/${id}/modifier`} class="bouton secondaire">
            <Icone nom="modifier" /> Modifier
          </a>
        )}
      </p>
      <h1>{action.titre}</h1>
      <Resume action={action} driver={driver} acteurs={agenda.acteurs} />
      <Refuse refus={refus} />
      {organisateur && <Conflits agenda={agenda} collection="actions" id={id} record={action} editer={editer} />}
      <Besoins driver={driver} doc={doc} action={action} id={id} editer={organisateur ? editer : undefined} />
      {prochains.length > 0 && <Prochains prochains={prochains} editer={organisateur ? editer : undefined} id={id} />}
      {action.visibilite === "public" && action.publication === "publie" && (
        <Reprendre driver={driver} source={doc} action={id} />
      )}
    </article>
  );
}

/** Whether the action this copy was taken up from changed (or went) since,
 * when this device holds its territory. */
function SourceChangee({ driver, action }: { driver: Driver; action: Action }) {
  const p = action.inspire_de;
  if (!p || !driver.hasDocument(p.territoire)) return null;
  const source = driver.agenda(p.territoire)?.actions[p.action];
  if (source && !source.supprime && (source.modifie_le ?? 0) <= (action.cree_le ?? 0)) return null;
  return (
    <strong data-testid="source-changee">
      {" "}
      · {source && !source.supprime ? "l'action d'origine a changé depuis" : "l'action d'origine a été supprimée"}
    </strong>
  );
}

/** One line of the summary: an icon, a term, what it says. */
function Ligne({ icone, terme, testid, children }: { icone: NomIcone; terme: string; testid: string; children: ComponentChildren }) {
  return (
    <div data-testid={testid}>
      <dt>
        <Icone nom={icone} />
        <span class="sr-only">{terme}</span>
      </dt>
      <dd>{children}</dd>
    </div>
  );
}

function Resume({ action, driver, acteurs }: { action: Action; driver: Driver; acteurs: Agenda["acteurs"] }) {
  const l = libelles();
  // « Qui porte quoi »: the carriers, with their role (those shown publicly only).
  const porteurs = action.porteurs
    .filter((p) => acteurs[p.acteur_id] && !acteurs[p.acteur_id].supprime && acteurs[p.acteur_id].visible_publiquement)
    .map((p) => `${acteurs[p.acteur_id].nom} (${l.role_porteur[p.role].toLowerCase()})`);
  const { lieu } = action;
  const carte = lieu?.adresse && `https://www.openstreetmap.org/search?query=${encodeURIComponent(lieu.adresse)}`;
  return (
    <>
      {action.portes_entree.length > 0 && (
        <p class="pastilles" data-testid="themes">
          {action.portes_entree.map((t) => (
            <PastilleTheme key={t} theme={t} />
          ))}
        </p>
      )}
      {action.resume && (
        <p class="en-bref" data-testid="en-bref">
          {action.resume}
        </p>
      )}
      <dl class="resume carte">
        <Ligne icone={action.rythme ? "agenda" : "chantier"} terme="Quand" testid="phrase-rythme">
          {action.rythme ? phrase(action.rythme) : "Chantier au long cours, sans date de rendez-vous"}
        </Ligne>
        {(lieu?.libelle || lieu?.adresse) && (
          <Ligne icone="lieu" terme="Où" testid="ou">
            {lieu.libelle && <span data-testid="lieu">{lieu.libelle}</span>}
            {lieu.adresse && <span data-testid="adresse">{lieu.adresse}</span>}
            {carte && (
              <a href={carte} target="_blank" rel="noopener noreferrer" data-testid="lien-carte">
                <Icone nom="carte" /> Voir sur une carte (OpenStreetMap)
              </a>
            )}
          </Ligne>
        )}
        <Ligne icone="valider" terme="État" testid="etat">
          {l.statut[action.statut]}
          {action.publication !== "publie" && <span data-testid="publication"> · {l.publication[action.publication]}</span>}
          {action.temps_fort && <strong data-testid="temps-fort"> · Temps fort de l'année</strong>}
        </Ligne>
        {action.inspire_de && (
          <Ligne icone="territoire" terme="Inspiré de" testid="inspire-de">
            {action.inspire_de.territoire_nom} – {action.inspire_de.titre}
            <SourceChangee driver={driver} action={action} />
          </Ligne>
        )}
        {porteurs.length > 0 && (
          <Ligne icone="personnes" terme="Porté par" testid="porteurs">
            Porté par {porteurs.join(", ")}
          </Ligne>
        )}
        {action.mode_participation !== "sur_place" && (
          <Ligne icone="personnes" terme="Participation" testid="participation">
            {l.mode_participation[action.mode_participation]}
            {action.lien_en_ligne && (
              <a href={action.lien_en_ligne} target="_blank" rel="noopener noreferrer" data-testid="lien-en-ligne">
                Rejoindre en ligne
              </a>
            )}
          </Ligne>
        )}
      </dl>
      {action.description && <p class="description">{action.description}</p>}
    </>
  );
}
