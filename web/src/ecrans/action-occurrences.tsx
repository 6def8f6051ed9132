// An action's next rendez-vous on its page: the next 3, then 10 more per
// "Voir les suivants" (up to the page's horizon), each with its date and
// state. An organiser manages one behind "Gérer ce rendez-vous": cancel it
// (after a confirmation, with "Annuler l'annulation" in the status message
// that follows), restore it, or move it. Dates in words are sync-core's.

import { useState } from "preact/hooks";
import { Confirmation } from "../confirmation";
import { annoncer, ChampDate, ChampHeure, type Edition } from "../formulaire";
import type { Exception, RendezVous } from "../genere/agenda";
import { Icone } from "../icones";
import { quand } from "../modele";
import { EtatOccurrence } from "./occurrence";

type Changer = (origine: string, exception: Partial<Exception>) => boolean;

/** Without `editer` (a resident's link), the list only. */
export function Prochains({ prochains, editer, id }: { prochains: RendezVous[]; editer?: Edition; id: string }) {
  const [montres, setMontres] = useState(3);
  const changer: Changer = (origine, exception) =>
    editer?.({ type: "modifier_occurrence", collection: "actions", id, origine, exception }) ?? false;
  return (
    <section aria-labelledby="prochains">
      <h2 id="prochains">
        <Icone nom="agenda" /> Prochains rendez-vous
      </h2>
      <ol class="occurrences">
        {prochains.slice(0, montres).map((r, i) => {
          const o = r.occurrence;
          return (
            <li key={o.origine} class={`carte occurrence ${o.etat}`} data-testid="occurrence" data-etat={o.etat}>
              <p>
                <span class="date-occurrence" data-testid="date-occurrence">
                  {quand(o.debut)}
                </span>
                <EtatOccurrence occurrence={o} prevu />
                {o.lieu && <span> · {o.lieu}</span>}
              </p>
              {editer && <Gerer cle={`occ-${i}`} debut={o.debut} origine={o.origine} annule={o.etat === "annule"} changer={changer} />}
            </li>
          );
        })}
      </ol>
      {prochains.length > montres && (
        <button type="button" class="secondaire" onClick={() => setMontres(montres + 10)}>
          Voir les suivants
        </button>
      )}
    </section>
  );
}

function Gerer({ cle, debut, origine, annule, changer }: {
  cle: string;
  debut: string;
  origine: string;
  annule: boolean;
  changer: Changer;
}) {
  const [question, setQuestion] = useState(false);
  const q = quand(debut);
  const retablir = () => changer(origine, { etat: "programme" }) && annoncer(`Rendez-vous du ${q} rétabli`);
  const repondre = (oui: boolean) => {
    setQuestion(false);
    if (oui && changer(origine, { etat: "annule" }))
      annoncer(`Rendez-vous du ${q} annulé`, { libelle: "Annuler l'annulation", faire: retablir });
  };
  return (
    <details class="gerer">
      <summary>
        Gérer ce rendez-vous<span class="sr-only"> du {q}</span>
      </summary>
      <p class="actions">
        {annule ? (
          <button type="button" class="secondaire" onClick={retablir}>
            <Icone nom="retablir" /> Rétablir ce rendez-vous
          </button>
        ) : (
          <button type="button" class="secondaire" onClick={() => setQuestion(true)}>
            <Icone nom="annuler" /> Annuler ce rendez-vous
          </button>
        )}
      </p>
      <Deplacer cle={cle} debut={debut} deplacer={(nouveau) => changer(origine, { debut: nouveau })} />
      {question && (
        <Confirmation
          titre={`Annuler le rendez-vous du ${q}\u00a0?`}
          texte="Il restera dans l'agenda, marqué annulé, et vous pourrez le rétablir."
          confirmer="Annuler ce rendez-vous"
          danger
          repondre={repondre}
        />
      )}
    </details>
  );
}

function Deplacer({ cle, debut, deplacer }: { cle: string; debut: string; deplacer: (debut: string) => boolean }) {
  const [date, setDate] = useState(debut.slice(0, 10));
  const [heure, setHeure] = useState(debut.slice(11, 16));
  const [erreur, setErreur] = useState<string>();
  const envoyer = (event: Event) => {
    event.preventDefault();
    if (!date || !heure) return setErreur("Indiquez la nouvelle date et l'heure.");
    setErreur(undefined);
    const nouveau = `${date}T${heure}:00`;
    if (deplacer(nouveau)) annoncer(`Rendez-vous déplacé au ${quand(nouveau)}`);
  };
  return (
    <details>
      <summary>Déplacer ce rendez-vous</summary>
      <form onSubmit={envoyer} noValidate>
        <ChampDate id={`${cle}-date`} label="Nouvelle date" erreur={erreur} valeur={date} onDate={setDate} />
        <ChampHeure id={`${cle}-heure`} label="Nouvelle heure" valeur={heure} onHeure={setHeure} />
        <button type="submit" class="secondaire">
          Déplacer
        </button>
      </form>
    </details>
  );
}
