// « Fiches d'expérience » of a territory (`#/t/<id>/fiches`, issue 18):
// what the territory learnt, written by its organisers. Organisers see
// every sheet the territory lists (drafts too) with its state in words,
// and start a new one (its title, then the editor); residents see the
// published ones, from the relay's `/t/<id>/fiches.json`, kept on the
// device so that the list opens offline, saying from when it dates.
//
// Does not: decide a sheet's state (sync-core computes it) or which sheets
// are public (the relay serves only the published ones).

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { allerA, Champ } from "../formulaire";
import { Icone } from "../icones";
import { libellesFiches, messageDe } from "../modele";
import { PastilleTheme } from "../themes";
import { CHARGEMENT, RetourTerritoire, useTerritoire } from "./ecran-territoire";
import { dateVersion, jetonDe, type ListeFiches, listeFiches, type Lu } from "./fiches-publiques";
import { MonNom } from "./mon-nom";

export function Fiches({ driver, doc }: { driver: Driver; doc: string }) {
  return driver.organise(doc) ? <FichesOrganisateurs driver={driver} doc={doc} /> : <FichesPubliees driver={driver} doc={doc} />;
}

function FichesOrganisateurs({ driver, doc }: { driver: Driver; doc: string }) {
  const { agenda } = useTerritoire(driver, doc);
  if (!agenda) return CHARGEMENT;
  const statuts = libellesFiches().statuts;
  const fiches = driver.fiches(doc).map((id) => ({ id, fiche: driver.fiche(id) }));
  fiches.sort((a, b) => (a.fiche?.contenu.titre ?? "").localeCompare(b.fiche?.contenu.titre ?? "", "fr"));
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Fiches d'expérience</h1>
      <p>
        Ce que le territoire a appris, raconté pour d'autres&nbsp;: écrites à plusieurs, relues par un autre organisateur,
        puis publiées.
      </p>
      {!driver.monNom() && <MonNom driver={driver} question />}
      <NouvelleFiche driver={driver} doc={doc} />
      {fiches.length === 0 ? (
        <p>Aucune fiche pour l'instant.</p>
      ) : (
        <ul class="cartes" data-testid="fiches">
          {fiches.map(({ id, fiche }) => (
            <li key={id} class="carte" data-testid="fiche">
              <h2 class="fiche-titre">
                <a href={`#/t/${doc}/fiches/${id}`}>{fiche ? fiche.contenu.titre || "Fiche sans titre" : "Fiche en cours de chargement"}</a>
              </h2>
              {fiche ? (
                <>
                  <p>
                    <span class={`etat-fiche etat-${fiche.statut}`} data-testid="etat-fiche">
                      {statuts[fiche.statut]}
                    </span>
                  </p>
                  {fiche.contenu.resume && <p>{fiche.contenu.resume}</p>}
                </>
              ) : (
                <p class="aide">
                  Pas encore sur cet appareil. Une fiche proposée par un autre territoire s'ouvre dès que celui-ci l'a
                  proposée au vôtre.
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** « Nouvelle fiche »: its title, then the editor. */
function NouvelleFiche({ driver, doc }: { driver: Driver; doc: string }) {
  const [titre, setTitre] = useState("");
  const [erreur, setErreur] = useState<string>();
  const creer = (event: Event) => {
    event.preventDefault();
    if (!titre.trim()) return setErreur("Donnez un titre à la fiche.");
    try {
      const id = driver.creerFiche(doc, { titre: titre.trim() });
      allerA(`#/t/${doc}/fiches/${id}`);
    } catch (e) {
      setErreur(messageDe(e));
    }
  };
  return (
    <details class="carte" data-testid="nouvelle-fiche">
      <summary>
        <Icone nom="plus" /> Nouvelle fiche
      </summary>
      <form onSubmit={creer} noValidate>
        <Champ id="nouvelle-fiche-titre" label="Titre de la fiche" erreur={erreur} aide="Par exemple : Un repair café à la médiathèque">
          <input value={titre} maxLength={120} onInput={(e) => (setTitre(e.currentTarget.value), setErreur(undefined))} />
        </Champ>
        <button type="submit">Créer la fiche</button>
      </form>
    </details>
  );
}

/** A resident's list: the published sheets, from the relay or as kept. */
function FichesPubliees({ driver, doc }: { driver: Driver; doc: string }) {
  const [lu, setLu] = useState<Lu<ListeFiches>>();
  useEffect(() => {
    jetonDe(driver.storage, doc)
      .then((jeton) => listeFiches(doc, jeton))
      .then(setLu);
  }, [driver, doc]);
  return (
    <>
      <RetourTerritoire doc={doc} />
      <h1>Fiches d'expérience</h1>
      {!lu ? (
        <p role="status">Chargement des fiches…</p>
      ) : lu.type !== "lu" ? (
        <p role="alert">{lu.message}</p>
      ) : (
        <>
          {lu.horsLigne !== undefined && (
            <p class="note" role="status" data-testid="hors-ligne">
              Hors ligne&nbsp;: la liste telle qu'elle était le {dateVersion(lu.horsLigne)}.
            </p>
          )}
          {lu.valeur.fiches.length === 0 ? (
            <p>Aucune fiche publiée pour l'instant.</p>
          ) : (
            <ul class="cartes" data-testid="fiches">
              {lu.valeur.fiches.map((f) => (
                <li key={f.id} class="carte" data-testid="fiche">
                  <h2 class="fiche-titre">
                    <a href={`#/t/${doc}/fiches/${f.id}`}>{f.titre}</a>
                  </h2>
                  {f.resume && <p>{f.resume}</p>}
                  <p class="aide">
                    Publiée le {dateVersion(f.version.le)}
                    {f.nationale && " · sur la liste nationale"}
                  </p>
                  {f.portes_entree.length > 0 && (
                    <p class="pastilles">
                      {f.portes_entree.map((t) => (
                        <PastilleTheme key={t} theme={t} />
                      ))}
                    </p>
                  )}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </>
  );
}
